"""The demo plan of a first `nok serve`: a living plan of this year, which mails nobody, and
the public first-run page that shows it."""

from __future__ import annotations

import datetime as dt
import re
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import accounts, plans
from nok_workflow.services.jobs.demo import demo_year, make_demo
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from nok_workflow.store.models import Evidence, Item, Obligation, Party, Plan, PlanVersion
from nok_workflow.tokens import upload_link
from nok_workflow.web.app import create_app
from nok_workflow.web.context import WebContext
from tests.support.paths import PLANS
from tests.support.serve import get, kill_group, start_serve

NOW = dt.datetime(2026, 11, 24, 5, tzinfo=dt.UTC)  # 10:00 in Orenburg
KEY = b"k" * 32
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def snapshot(engine) -> dict:
    """Everything the demo made, comparable across stores."""
    with Session(engine) as session:
        plan = session.execute(select(Plan)).scalar_one()
        obligations = session.execute(
            select(Item.key, Obligation.period, Obligation.due, Obligation.status, Obligation.completed_on)
            .join(Item, Item.id == Obligation.item_id).order_by(Item.key, Obligation.period)).all()
        evidence = session.execute(select(Evidence.url, Evidence.submitted_by, Evidence.document_date)
                                   .order_by(Evidence.url)).all()
        source = session.execute(select(PlanVersion.source_text)).scalar_one()
        parties = session.execute(select(Party.id, Party.email).order_by(Party.id)).all()
    return {"plan": (plan.id, plan.title, plan.demo, plan.period_end), "obligations": [tuple(r) for r in obligations],
            "evidence": [tuple(r) for r in evidence], "source": source, "parties": [tuple(p) for p in parties]}


def test_the_demo_is_a_living_plan_of_this_year_that_mails_nobody(engine, tmp_path):
    settings = Settings(home=tmp_path / ".nok")
    plan_id = make_demo(engine, NOW, settings)
    got = snapshot(engine)

    assert plan_id == "orenburg-raion-2026-demo" == got["plan"][0]
    _, title, demo, period_end = got["plan"]
    assert demo is True and title.startswith("ДЕМО: ") and "в 2026 году" in title
    assert period_end == dt.date(2026, 12, 31)
    # No address anywhere outside the reserved domain: not in the directory, not in the source.
    assert {email.rpartition("@")[2] for _, email in got["parties"]} == {"demo.invalid"}
    assert {m.rpartition("@")[2] for m in EMAIL.findall(got["source"])} == {"demo.invalid"}
    assert "id: orenburg-raion-2026-demo" in got["source"]

    statuses = {status for *_, status, _ in got["obligations"]}
    assert "done" in statuses and statuses & {"overdue", "escalated"} and "open" in statuses, statuses
    # Done: the old ones, by evidence signed on or before their due date; the latest of the
    # long-past ones stays overdue.
    due = {(key, period): (d, completed) for key, period, d, _, completed in got["obligations"]}
    assert due[("I.1", "2026-Q3")][1] is not None and due[("III.3", "2026-Q3")][1] is None
    assert got["evidence"] == [("https://example.org/demo/orenburg-raion-2026-demo/I.1/2026-Q3", "sovet",
                                dt.date(2026, 9, 30))]
    assert all(d < dt.date(2026, 11, 24) - dt.timedelta(days=21) for d, done in due.values() if done)


def test_the_same_moment_gives_the_same_demo(tmp_path):
    settings = Settings(home=tmp_path / ".nok")
    first, second = (connect(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db"))
    assert make_demo(first, NOW, settings) == make_demo(second, NOW, settings)
    assert snapshot(first) == snapshot(second)
    # Asked again on the same store: nothing new (no second set of evidence).
    before = snapshot(first)
    assert make_demo(first, NOW, settings) == before["plan"][0]
    assert snapshot(first) == before


@pytest.mark.parametrize(("today", "year"), [
    (dt.date(2026, 11, 24), 2026), (dt.date(2026, 9, 17), 2026), (dt.date(2026, 9, 16), 2025),
    (dt.date(2027, 2, 10), 2026), (dt.date(2024, 10, 8), 2024),
])
def test_the_demo_year_is_the_latest_whose_period_has_begun(today, year):
    assert demo_year(dt.date(2024, 9, 17), today) == year


def test_in_2024_the_bundled_plan_is_taken_as_it_is(engine, tmp_path):
    at = dt.datetime(2024, 12, 20, 5, tzinfo=dt.UTC)
    plan_id = make_demo(engine, at, Settings(home=tmp_path / ".nok"))
    assert plan_id == "orenburg-raion-2024-demo"
    got = snapshot(engine)
    assert got["plan"][2] is True and got["plan"][3] == dt.date(2024, 12, 31)
    assert {email.rpartition("@")[2] for _, email in got["parties"]} == {"demo.invalid"}
    statuses = [status for *_, status, _ in got["obligations"]]
    # 20.12: the September items are long past (one done, one left overdue), December's are due soon.
    assert "done" in statuses and {"overdue", "escalated"} & set(statuses) and "due_soon" in statuses


# --- the first-run page --------------------------------------------------------------------

def client_for(engine, tmp_path: Path) -> TestClient:
    settings = Settings(home=tmp_path / ".nok", base_url="https://nok.example.org/nok")
    app = create_app(WebContext(engine, settings, KEY, trigger=lambda plan_id, moment: "запуск поставлен",
                                now_override="2026-11-24T10:00+05:00"))
    return TestClient(app, base_url="http://127.0.0.1:8470", client=("127.0.0.1", 50123))  # on the server


def test_the_first_run_page_shows_the_demo_and_its_executors_links(engine, tmp_path):
    plan_id = make_demo(engine, NOW, Settings(home=tmp_path / ".nok"))
    with client_for(engine, tmp_path) as client:
        page = client.get("/")
        assert page.status_code == 200
        html = page.text
        assert 'class="demo"' in html and "ДЕМО" in html
        assert "ДЕМО: План-график проведения независимой оценки" in html and plan_id in html
        # Counts by status: 12 obligations, one done, one escalated.
        assert re.search(r"Выполнено 1 из 12", html)
        assert re.search(r"<b>1</b><span class=\"badge st-escalated\">эскалировано</span>", html)
        # The first account is made here, its login the demo plan's coordinator; no command to type.
        assert 'action="/first-run"' in html and 'name="login" ' in html and 'value="uo"' in html
        assert "nok user" not in html and "nok plan" not in html
        assert str(tmp_path / ".nok" / "outbox") in html
        # Each executor's personal link, as a path under NOK_BASE_URL's own path.
        links = dict(re.findall(r'<a class="button secondary" href="([^"]+)">([^<]+)</a>', html))
        assert set(links.values()) == {"Общественный совет", "Организация-оператор", "Управление образования"}
        sovet = next(link for link, name in links.items() if name == "Общественный совет")
        assert sovet == "/nok" + upload_link("", KEY, plan_id, "sovet")
        assert re.fullmatch(rf"/nok/u/{plan_id}/sovet/[A-Za-z0-9_-]{{24}}", sovet)
        executor = client.get(sovet.removeprefix("/nok"))  # the test app has no /nok prefix in front
        assert executor.status_code == 200 and "Заседания общественного совета №1" in executor.text

        # Once a coordinator account exists, the public page is gone: `/` asks to sign in.
        accounts.add(engine, login="uo", name="Координатор", email=None, password=None, now=NOW)
        again = client.get("/", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == "/login"


def test_without_a_demo_the_page_explains_the_steps_and_shows_no_plan(engine, tmp_path):
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=NOW)
    with client_for(engine, tmp_path) as client:
        html = client.get("/").text
    assert "Как начать работу" in html and 'action="/first-run"' in html and "Загрузите свой план" in html
    assert "Планы уже загружены (1)" in html
    # A plan the user loaded is never on this public page: no title, no id, no links.
    assert "orenburg-raion-2024" not in html and "Оренбургский" not in html and "/u/" not in html
    assert 'class="demo"' not in html


# --- `nok serve` on an empty store ---------------------------------------------------------

@pytest.mark.slow
def test_serve_on_an_empty_store_loads_only_the_demo(tmp_path):
    proc, url, env = start_serve(tmp_path)
    try:
        health = get(f"{url}/health")
        assert health["plans"] == 1 and set(health["next_runs"]) == {f"orenburg-raion-{_year()}-demo"}
        out = proc.output()[0]
        assert f"Хранилище было пустым: загружен демо-план orenburg-raion-{_year()}-demo (ДЕМО: План-график" in out
        assert f"письма демо-плана остаются в папке {tmp_path / '.nok' / 'outbox'}" in out
        assert "свой план: nok plan load файл.yaml" in out
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            html = response.read().decode()
        assert 'class="demo"' in html and f"orenburg-raion-{_year()}-demo" in html
    finally:
        kill_group(proc)


def _year() -> int:
    """The demo's year on the real clock (as `nok serve` runs without --now)."""
    from zoneinfo import ZoneInfo

    return demo_year(dt.date(2024, 9, 17), dt.datetime.now(ZoneInfo("Asia/Yekaterinburg")).date())
