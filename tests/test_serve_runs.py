"""A plan run Prefect could not create or finish is tried again, and one that never ran is
said — on the plan's page, in `nok status` and in the serve's output — instead of lost.

Found at regional scale (issue 15): `nok serve` with 60 plans began only 59 first runs; the
60th raised out of Prefect's client while its SQLite was locked by the burst, and APScheduler
swallowed it. Here the fault is real: `Runtime` runs the real plan flow against Prefect's
test server through a TCP relay that refuses or drops connections.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import threading
import time
import urllib.parse

import pytest
import yaml

pytestmark = pytest.mark.slow  # Prefect's test harness

NOW = "2025-03-28T09:00:00+05:00"


class Relay:
    """A TCP relay to Prefect's API. Down, nothing listens on its port: a connection is
    refused. Up, it forwards bytes both ways (the events websocket too); `drop` closes that
    many of the next connections at once, as a server in trouble would."""

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.upstream, self.path = (parts.hostname, parts.port), parts.path
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{self.path}"
        self.drop = 0
        self.dropped = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def up(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening and cut every open connection (pooled ones too)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: down
            with self._lock:
                if self.drop > 0:
                    self.drop -= 1
                    self.dropped += 1
                    client.close()
                    continue
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def tiny_plan(plan_id: str) -> str:
    plan = {
        "id": plan_id, "title": f"План {plan_id}", "period": 2025, "timezone": "Asia/Yekaterinburg",
        "coordinator": "uo",
        "directory": [{"id": "uo", "name": "Управление образования", "email": "uo@example.org"}],
        "sections": [{"number": "1.", "title": "Мероприятия", "items": [
            {"number": "1", "title": "Приказ управления", "deadline": "Март", "owners": ["uo"]},
            {"number": "2", "title": "Отчёт управления", "deadline": "Ежеквартально", "owners": ["uo"]},
        ]}],
    }
    return yaml.safe_dump(plan, allow_unicode=True, sort_keys=False)


@pytest.fixture
def relayed(harness, tmp_path, monkeypatch):
    """A store with `load(n)` tiny plans, and Prefect's API for every thread of this process
    (the scheduler's too, as in `nok serve`) reached through a relay, its client told not to
    retry — so a refused or dropped connection fails the run at once."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES

    from nok_workflow.runtime.engine import store_engine
    from nok_workflow.services.commands import plans

    monkeypatch.setenv("NOK_HOME", str(tmp_path / ".nok"))
    monkeypatch.delenv("NOK_DATABASE_URL", raising=False)
    relay = Relay(PREFECT_API_URL.value())
    root = prefect.context.GLOBAL_SETTINGS_CONTEXT
    prefect.context.GLOBAL_SETTINGS_CONTEXT = root.model_copy(update={"settings": root.settings.copy_with_update(
        updates={PREFECT_API_URL: relay.url, PREFECT_CLIENT_MAX_RETRIES: 0})})

    def load(count: int) -> list[str]:
        ids = [f"mo{i:02d}-2025" for i in range(1, count + 1)]
        for plan_id in ids:
            path = tmp_path / f"{plan_id}.yaml"
            path.write_text(tiny_plan(plan_id), encoding="utf-8")
            plans.load(store_engine(), path, actor=None, now=dt.datetime(2025, 3, 1, 5, tzinfo=dt.UTC))
        return ids

    try:
        yield relay, load, store_engine()
    finally:
        # The runs' logs and events queued for the relay's address go out first: a worker
        # left with them would try the closed port until the session ends.
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        if relay.drop or not relay.listening:
            relay.drop = 0
            relay.up()
        EventsWorker.drain_all(timeout=30)
        APILogWorker.drain_all(timeout=30)
        prefect.context.GLOBAL_SETTINGS_CONTEXT = root
        relay.down()


class Told(logging.Handler):
    """What `nok serve` says in its output (the "nok" logger), from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def saying(self, words: str) -> list[logging.LogRecord]:
        return [r for r in list(self.records) if words in r.getMessage()]


@pytest.fixture
def told():
    handler = Told()
    logging.getLogger("nok").addHandler(handler)
    yield handler
    logging.getLogger("nok").removeHandler(handler)


def start_runtime(engine, delays: tuple[float, ...]):  # noqa: ANN001, ANN201
    from nok_workflow.runtime.serve import Runtime

    runtime = Runtime(engine, NOW, retry_delays=delays)
    runtime.scheduler.start()
    return runtime


def request(runtime, plan_id: str):  # noqa: ANN001, ANN201 - a Ticket
    from nok_workflow.runtime.plan_runs import Ticket

    ticket = Ticket()
    runtime.plans.request(plan_id, ticket=ticket)
    return ticket


def wait_for(predicate, what: str, timeout: float = 120) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not seen in {timeout} s: {what}"
        time.sleep(0.05)


def last_run_on(engine, plan_id: str):  # noqa: ANN001, ANN201
    from sqlmodel import Session

    from nok_workflow.store.models import Plan

    with Session(engine) as session:
        return session.get(Plan, plan_id).last_run_on


def test_a_run_prefect_refused_is_tried_again_and_goes_through(relayed, told):
    relay, load, engine = relayed
    (plan_id,) = load(1)
    runtime = start_runtime(engine, delays=(1.0,))
    try:
        ticket = request(runtime, plan_id)  # the relay is down: Prefect's API refuses
        wait_for(lambda: told.saying("повтор через"), "the retry announced")
        relay.up()
        assert ticket.wait(120), "the retried run did not end"
        assert ticket.outcome().is_completed()
    finally:
        runtime.plans.close()
        runtime.scheduler.shutdown(wait=True)
    warning = told.saying("повтор через")[0].getMessage()
    assert f"план {plan_id}: Prefect не выполнил проход (RuntimeError: Failed to reach API" in warning, warning
    assert last_run_on(engine, plan_id) == dt.date(2025, 3, 28)
    assert runtime.state()["runs"] == 1 and runtime.state()["failures"] == 0


def test_a_run_that_never_went_through_is_said_until_one_does(relayed, told):
    from nok_workflow.services.read.dashboard import dashboard
    from nok_workflow.services.read.health import run_problems

    relay, load, engine = relayed
    (plan_id,) = load(1)
    runtime = start_runtime(engine, delays=(0.2, 0.2))
    try:
        ticket = request(runtime, plan_id)
        assert ticket.wait(60), "the failing run was never given up"
        with pytest.raises(Exception, match="Failed to reach API"):
            ticket.outcome()
        retries = told.saying("повтор через")
        given_up = told.saying("проход не выполнен и после повторов")
        assert len(retries) == 2 and len(given_up) == 1 and given_up[0].levelno == logging.ERROR
        assert runtime.state()["runs"] == 1 and runtime.state()["failures"] == 1
        assert "не выполнен" in runtime.state()["last_run"]
        assert last_run_on(engine, plan_id) is None
        [(plan, problem, since)] = run_problems(engine)
        assert plan == plan_id and problem.startswith("проход плана не выполнен: Prefect не ответил (RuntimeError: Failed to reach API")
        moment = dt.datetime.fromisoformat(NOW)
        assert since == moment and dashboard(engine, plan_id, moment).run_problem == (problem, since)

        relay.up()  # Prefect answers again: the next run clears the problem
        assert request(runtime, plan_id).wait(120)
        assert run_problems(engine) == [] and dashboard(engine, plan_id, moment).run_problem is None
        assert last_run_on(engine, plan_id) == dt.date(2025, 3, 28)
    finally:
        runtime.plans.close()
        runtime.scheduler.shutdown(wait=True)


def test_a_burst_of_first_runs_through_a_failing_api_loses_none(relayed, told):
    """What `nok serve` does at start with many plans, while the API drops connections."""
    relay, load, engine = relayed
    ids = load(12)
    relay.drop = 6  # the first connections of the burst are cut at once
    relay.up()
    runtime = start_runtime(engine, delays=(0.5, 1.0, 2.0))
    try:
        runtime.sync_jobs()  # every plan seen for the first time runs at once, as at start
        wait_for(lambda: runtime.state()["runs"] >= len(ids), "a first run of every plan", timeout=300)
    finally:
        runtime.plans.close()
        runtime.scheduler.shutdown(wait=True)
    assert relay.dropped == 6
    assert told.saying("повтор через")
    assert runtime.state()["failures"] == 0
    assert {plan_id: last_run_on(engine, plan_id) for plan_id in ids} == dict.fromkeys(ids, dt.date(2025, 3, 28))
