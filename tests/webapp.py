"""The web app as the HTTP-level tests build it: a real store, a fixed moment, a trigger that
records what it was asked (the runs themselves are tested with `nok serve`)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from nok_workflow.settings import Settings
from nok_workflow.web.app import create_app
from nok_workflow.web.context import WebContext

NOW = "2024-10-08T09:00+05:00"
MOMENT = dt.datetime.fromisoformat(NOW)
KEY = b"k" * 32
RAN = "запуск плана поставлен в очередь"  # what `nok serve` answers a first request


@pytest.fixture
def app_of(tmp_path):
    """`app_of(engine, now=..., **settings)`: the app over `engine`, NOK_HOME in tmp_path;
    `app.state.calls` lists each (plan, simulated moment) the app asked to run."""

    def make(engine, now: str = NOW, **settings):
        calls: list[tuple[str, object]] = []

        def trigger(plan_id, moment):
            calls.append((plan_id, moment))
            return RAN

        app = create_app(WebContext(engine, Settings(home=tmp_path / "home", **settings), KEY, trigger=trigger,
                                    now_override=now))
        app.state.calls = calls
        return app

    return make


def client(app, host: str = "127.0.0.1:8470") -> TestClient:
    return TestClient(app, base_url=f"http://{host}")
