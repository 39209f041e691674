"""The web app as the HTTP-level tests build it: a real store, a fixed moment, a trigger that
records what it was asked (the runs themselves are tested with `nok serve`); the `app_of`
fixture in conftest.py makes it. Also the coordinator «uo» of the Оренбург plan, signed in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from nok_workflow.settings import Settings
from nok_workflow.web.app import create_app
from nok_workflow.web.context import WebContext
from tests.support.paths import PLANS

NOW = "2024-10-08T09:00+05:00"
MOMENT = dt.datetime.fromisoformat(NOW)
KEY = b"k" * 32
RAN = "запуск плана поставлен в очередь"  # what `nok serve` answers a first request

ORENBURG = PLANS / "orenburg-raion-2024.yaml"
PLAN = "orenburg-raion-2024"
PASSWORD = "correct horse battery"


def make_app(home: Path, engine, now: str = NOW, **settings):
    """The app over `engine` with NOK_HOME `home`; `app.state.calls` lists each (plan,
    simulated moment) the app asked to run."""
    calls: list[tuple[str, object]] = []

    def trigger(plan_id, moment):
        calls.append((plan_id, moment))
        return RAN

    app = create_app(WebContext(engine, Settings(home=home, **settings), KEY, trigger=trigger, now_override=now))
    app.state.calls = calls
    return app


def client(app, host: str = "127.0.0.1:8470") -> TestClient:
    return TestClient(app, base_url=f"http://{host}")


def sign_in(app, login: str = "uo", password: str = PASSWORD) -> TestClient:
    c = client(app)
    c.get("/login")
    response = c.post("/login", data={"login": login, "password": password, "csrf": c.cookies["nok_csrf"]},
                      follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/", response.text
    return c


def orenburg(engine, folder: Path | None = None, *, swept: bool = True, email_: str | None = None) -> None:
    """The Оренбург plan, swept at NOW, and its coordinator «uo»; with `folder`, in a copy that
    requires every document to be reviewed."""
    from nok_workflow.services.commands import accounts, plans
    from nok_workflow.services.jobs import plan_run

    path = ORENBURG
    if folder is not None:
        path = folder / "orenburg-review.yaml"
        path.write_text(ORENBURG.read_text(encoding="utf-8").replace(
            "coordinator: uo\n", "coordinator: uo\nreview_required: true\n", 1), encoding="utf-8")
    plans.load(engine, path, actor=None, now=MOMENT)
    if swept:
        plan_run.steps(engine, PLAN, MOMENT)
    accounts.add(engine, login="uo", name="Управление образования", email=email_, password=PASSWORD, now=MOMENT)
