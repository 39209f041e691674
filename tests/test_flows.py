"""The plan flow under Prefect's own test harness (one harness for the session: ~20 s)."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading

import pytest
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.settings import Settings
from nok_workflow.store.models import Obligation, Outbox
from tests.support.paths import PLANS
from tests.support.prefect import settled_task_runs

pytestmark = pytest.mark.slow  # Prefect's test harness


@pytest.fixture
def store(harness, tmp_path, monkeypatch):
    monkeypatch.setenv("NOK_HOME", str(tmp_path / ".nok"))
    monkeypatch.delenv("NOK_DATABASE_URL", raising=False)
    from nok_workflow.runtime.engine import store_engine

    return store_engine()


def load(engine, name: str, day: str) -> None:
    from nok_workflow.services.commands import plans

    plans.load(engine, PLANS / name, actor=None, now=dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))


def run(plan_id: str, day: str):
    from flows.plan_flow import plan_flow

    return plan_flow(plan_id, now=f"{day}T05:00:00+00:00", return_state=True)


def task_runs(state) -> dict[str, object]:
    """Step name → its task run, for the flow run behind ``state``."""
    runs = settled_task_runs(state.state_details.flow_run_id)
    return {r.name.rsplit("-", 1)[0]: r for r in runs if not r.name.startswith("Подготовка")}


def test_orenburg_through_its_year(store):
    from nok_workflow.services.commands.evidence import submit

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    state = run("orenburg-raion-2024", "2024-09-17")
    assert state.is_completed()
    steps = task_runs(state)
    assert {name: r.state.name for name, r in steps.items()} == {
        "I.1 Заседания общественного совета №1": "Срок скоро",
        "I.2 Заключение договора с организацией-оператором": "Не начато",
        "II.1 Проведение социологических исследований": "Не начато",
        "II.2 Оценивание Интернет-сайтов": "Не начато",
        "II.3 Сбор, обобщение, анализ полученной информации": "Не начато",
        "II.4 Заседание общественного совета №2": "Не начато",
        "II.5 Составление предложений по совершенствованию образовательной деятельности организаций.": "Не начато",
        "II.6 Размещение информации о результатах независимой оценки на сайте https://bus.gov.ru/, на оф…":
            "Не начато",
        "III.1 Предложения по повышению качества и совершенствованию образовательной деятельности организ…":
            "Не начато",
        "III.2 Принятие управленческих решений. Применение итогов независимой оценки в выработке образова…":
            "Не начато",
        "III.3 Размещение информации на официальном сайте в сети «Интернет»": "Срок скоро",
    }
    # depends_on is the order of the steps: I.2 starts only after I.1 has finished.
    assert steps["I.2 Заключение договора с организацией-оператором"].start_time >= \
        steps["I.1 Заседания общественного совета №1"].end_time

    submit(store, None, plan_id="orenburg-raion-2024", item="I.1", by="sovet",
           now=dt.datetime(2024, 10, 1, 5, tzinfo=dt.UTC), url="https://example.org/protokol-1",
           document_date=dt.date(2024, 9, 17))
    names = {k.split(" ")[0]: r.state.name for k, r in task_runs(run("orenburg-raion-2024", "2024-10-01")).items()}
    assert names["I.1"] == "Выполнено" and names["III.3"] == "Эскалировано" and names["I.2"] == "Ожидает документ"

    names = {k.split(" ")[0]: r.state.name for k, r in task_runs(run("orenburg-raion-2024", "2024-12-18")).items()}
    assert names["II.4"] == "Срок скоро" and names["III.2"] == "Не начато"
    names = {k.split(" ")[0]: r.state.name for k, r in task_runs(run("orenburg-raion-2024", "2025-01-09")).items()}
    assert names["II.4"] == "Эскалировано" and names["III.2"] == "Ожидает документ"
    with Session(store) as session:
        queued = session.execute(select(Outbox.day, Outbox.kind, Outbox.step, Outbox.recipient)
                                 .where(Outbox.details["item"].as_string() == "II.4",
                                        Outbox.kind != "plan_changed")).all()
    assert sorted((d.isoformat(), k, s, r) for d, k, s, r in queued) == [
        ("2024-12-18", "reminder", 14, "operator"), ("2024-12-18", "reminder", 14, "sovet"),
        ("2025-01-09", "escalation", 1, "operator"), ("2025-01-09", "escalation", 1, "sovet"),
    ]


def test_an_unscheduled_step_says_so(store):
    load(store, "gorod-2018.yaml", "2018-01-01")
    names = {k.split(" ")[0]: r.state.name for k, r in task_runs(run("gorod-2018", "2018-01-20")).items()}
    assert names["2.2"] == "Без срока" and names["2.8"] == "Без срока" and names["1.1"] == "Срок скоро"


def _hold_lock(path: str, until: threading.Event, at_most: float = 120) -> threading.Thread:
    """The store's SQLite file locked (BEGIN EXCLUSIVE) until `until` is set."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        until.wait(at_most)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


@contextlib.contextmanager
def _on_locked(callback):
    """`callback()` when a store query of this process fails on SQLite's lock."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def seen(context) -> None:  # noqa: ANN001 - SQLAlchemy's ExceptionContext
        if "database is locked" in str(context.original_exception):
            callback()

    event.listen(Engine, "handle_error", seen)
    try:
        yield
    finally:
        event.remove(Engine, "handle_error", seen)


def test_a_locked_database_is_retried(store, monkeypatch):
    import nok_workflow.runtime.flows as module

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    monkeypatch.setenv("NOK_SQLITE_BUSY_MS", "100")
    from nok_workflow.runtime.engine import _engine

    _engine.cache_clear()
    for name in ("item_step", "prepare_step"):
        monkeypatch.setattr(module, name, getattr(module, name).with_options(retry_delay_seconds=[1, 1, 1]))
    # Held until a step has met the lock (then its retry, a second later, finds it free) —
    # not for a fixed time, which a slow start of the run could spend before any step.
    met = threading.Event()
    with _on_locked(met.set):
        holder = _hold_lock(str(Settings().home / "nok.db"), until=met)
        try:
            state = run("orenburg-raion-2024", "2024-09-17")
        finally:
            met.set()
            holder.join()
    assert state.is_completed(), state.message
    runs = settled_task_runs(state.state_details.flow_run_id)
    assert max(r.run_count for r in runs) > 1  # a step met the lock and was retried


def test_a_database_locked_for_good_fails_the_run_and_writes_nothing(store, monkeypatch):
    import nok_workflow.runtime.flows as module

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    monkeypatch.setenv("NOK_SQLITE_BUSY_MS", "100")
    from nok_workflow.runtime.engine import _engine

    _engine.cache_clear()
    from nok_workflow.runtime.engine import store_engine

    engine = store_engine()  # prepare() needs the lock too: take it after the engine exists
    for name in ("item_step", "prepare_step"):
        monkeypatch.setattr(module, name, getattr(module, name).with_options(retry_delay_seconds=[0.2, 0.2, 0.2]))
    done = threading.Event()  # locked for the whole run, however long it takes to start
    holder = _hold_lock(str(Settings().home / "nok.db"), until=done)
    try:
        state = run("orenburg-raion-2024", "2024-09-17")
    finally:
        done.set()
        holder.join()
    assert state.is_failed()
    assert "database is locked" in str(state.message) or "locked" in repr(state.data)
    with Session(engine) as session:
        assert set(session.execute(select(Obligation.status)).scalars()) == {"upcoming"}
        assert session.execute(select(Outbox.id).where(Outbox.kind != "plan_changed")).first() is None


def test_quarterly_report_flow(store):
    from flows.report_flow import quarterly_report_flow
    from nok_workflow.services.commands.evidence import submit

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    submit(store, None, plan_id="orenburg-raion-2024", item="I.1", by="sovet",
           now=dt.datetime(2024, 10, 2, 5, tzinfo=dt.UTC), url="https://example.org/p",
           document_date=dt.date(2024, 9, 17))
    summary = quarterly_report_flow("orenburg-raion-2024", now="2024-10-05T05:00:00+00:00")
    assert summary["quarter"] == "2024Q3"
    assert {k: summary["totals"][k] for k in ("total", "on_time", "not_done")} == {"total": 2, "on_time": 1,
                                                                                    "not_done": 1}
    folder = Settings().home / "reports" / "orenburg-raion-2024"
    assert sorted(p.name for p in folder.iterdir()) == [f"otchet-orenburg-raion-2024-2024Q3.{f}"
                                                        for f in ("docx", "html", "json", "xlsx")]
    assert summary["evidence"] is None  # the plan names no reporting item


def test_the_plan_flow_issues_the_report_on_its_day(store):
    """The daily run after the quarter closed issues its report once; the next day's run does not."""
    from flows.plan_flow import plan_flow

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    assert "report" not in plan_flow("orenburg-raion-2024", now="2024-09-30T05:00:00+00:00")
    first = plan_flow("orenburg-raion-2024", now="2024-10-01T05:00:00+00:00")
    assert first["report"]["quarter"] == "2024Q3" and first["report"]["queued"] is True
    assert "report" not in plan_flow("orenburg-raion-2024", now="2024-10-02T05:00:00+00:00")
    assert (Settings().home / "reports" / "orenburg-raion-2024" / "otchet-orenburg-raion-2024-2024Q3.docx").is_file()


def test_evidence_runs_the_plan_at_once_in_embedded_mode(store):
    from nok_workflow.runtime.orchestrate import trigger_plan
    from nok_workflow.services.commands.evidence import submit

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    now = dt.datetime(2024, 9, 25, 5, tzinfo=dt.UTC)
    submit(store, None, plan_id="orenburg-raion-2024", item="I.1", by="sovet", now=now,
           url="https://example.org/p", document_date=dt.date(2024, 9, 17))
    how = trigger_plan(store, "orenburg-raion-2024", Settings(), now)
    assert how == "шаги плана выполнены сразу (nok serve не запущен)"
    with Session(store) as session:
        assert session.execute(select(Obligation.status).where(Obligation.period == "2024-Q3")
                               .order_by(Obligation.id)).scalars().all() == ["done", "due_soon"]


def test_the_server_accepts_its_clients_defaults(harness):
    """fastapi 0.154 made the Prefect server refuse `limit: null` from its own client."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert isinstance(client.read_task_runs(), list)
        assert isinstance(client.read_work_pools(), list)


def test_dispatch_run_fails_with_the_reason_when_smtp_never_answers(store, monkeypatch):
    """The circuit breaker's verdict is the run's result: a red run saying why, mails kept."""
    import socket

    from flows.dispatch_flow import dispatch_flow
    from nok_workflow.store.models import Mail

    load(store, "orenburg-raion-2024.yaml", "2024-09-17")
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts connections (the kernel's backlog), never says a word
    try:
        monkeypatch.setenv("NOK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NOK_SMTP_PORT", str(hole.getsockname()[1]))
        monkeypatch.setenv("NOK_SMTP_TIMEOUT", "1")
        state = dispatch_flow(now="2024-09-17T05:00:00+00:00", return_state=True)
    finally:
        hole.close()
    assert state.is_failed()
    assert state.message.startswith("SMTP-сервер не отвечает (127.0.0.1:")
    with Session(store) as session:
        assert {m.status for m in session.execute(select(Mail)).scalars()} <= {"pending", "retry"}
