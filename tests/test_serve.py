"""`nok serve` as a user starts it: one process, the plans of its store, one instance per store.
An empty store gets the demo plan instead: tests/test_demo.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from nok_workflow.tokens import secret
from tests.support.cli import run_nok
from tests.support.serve import children, free_port, get, kill_group, start_serve


def post(url: str, key: bytes | None = None) -> dict:
    """POST to `nok serve`, signed as the `nok` commands of the store sign (or unsigned)."""
    from nok_workflow.tokens import run_token

    headers = {"Authorization": f"Bearer {run_token(key)}"} if key else {}
    request = urllib.request.Request(url, method="POST", data=b"", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def served(tmp_path):
    """`nok serve` on a store with two bundled plans (the 2018 one is long overdue)."""
    proc, url, env = start_serve(tmp_path, preload=("orenburg-raion-2024", "gorod-2018"))
    yield proc, url, env
    kill_group(proc)


@pytest.mark.slow
def test_serve_schedules_the_stores_plans_and_runs_them_on_evidence(served, tmp_path):
    proc, url, env = served
    health = get(f"{url}/health")
    assert health["status"] == "ok" and health["plans"] == 2  # the store's own: no demo added
    assert set(health["next_runs"]) == {"gorod-2018", "orenburg-raion-2024"}
    assert "+05" in health["next_runs"]["orenburg-raion-2024"] and " 09:00 " in health["next_runs"]["gorod-2018"]
    # On start every plan is run once (a server down at the plan's hour skips no day):
    # the stored statuses are today's, so the 2018 plan's items are long overdue.
    deadline = time.monotonic() + 180  # the first Prefect run in a fresh process starts its local API
    while get(f"{url}/health")["runs"] < 2:
        assert time.monotonic() < deadline, f"start-up runs did not finish: {get(f'{url}/health')}"
        time.sleep(1)
    assert get(f"{url}/health")["failures"] == 0
    # Prefect's API runs inside nok serve: no second Python loading Prefect again.
    assert children(proc.pid) == [], children(proc.pid)
    # No account yet: the first page says how to start, and shows none of the store's plans.
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    assert "Как начать работу" in page and 'action="/first-run"' in page and "orenburg-raion-2024" not in page
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{tmp_path / '.nok' / 'nok.db'}").connect() as conn:
        statuses = {row[0] for row in conn.execute(text(
            "select distinct status from obligation where plan_id = 'gorod-2018'"))}
    assert "escalated" in statuses and not statuses & {"upcoming", "due_soon"}, statuses

    # A second `nok serve` on the same store is refused, clearly.
    second = run_nok("serve", "--port", str(free_port()), env=env)
    assert second.returncode == 1
    assert "nok serve уже запущен (pid" in second.stderr and "Traceback" not in second.stderr

    # Evidence submitted from the CLI makes the running server run the plan's flow (on the
    # real clock, as the server runs: a --now before today's runs would be refused).
    submitted = run_nok("evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
                        "--url", "https://example.org/protokol", env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert f"nok serve ({url}): запуск плана поставлен в очередь" in submitted.stdout
    # The run is seen by what it does — I.1's obligation recounted as done late — not by «the last
    # run»: on the real clock a plan's own hour may fall in the test (gorod-2018 at 09:00 MSK).
    def i1_status() -> str:
        with create_engine(f"sqlite:///{tmp_path / '.nok' / 'nok.db'}").connect() as conn:
            return conn.execute(text(
                "select o.status from obligation o join item i on i.id = o.item_id "
                "where o.plan_id = 'orenburg-raion-2024' and i.key = 'I.1'")).scalar()

    deadline = time.monotonic() + 120
    while get(f"{url}/health")["runs"] < 3 or i1_status() != "done_late":  # submitted in 2026
        assert time.monotonic() < deadline, f"no flow run after the submission: {get(f'{url}/health')}"
        time.sleep(1)
    assert get(f"{url}/health")["failures"] == 0

    # Only `nok` commands of this store may ask for a run: they sign with its key.
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(f"{url}/api/plans/orenburg-raion-2024/run")
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as forged:
        post(f"{url}/api/plans/orenburg-raion-2024/run", key=b"x" * 32)
    assert forged.value.code == 403

    # A burst of six requests: one run starts, one waits, the rest join the waiting one.
    key = secret(tmp_path / ".nok")
    answers = [post(f"{url}/api/plans/orenburg-raion-2024/run", key)["status"] for _ in range(6)]
    assert answers[0] == "запуск плана поставлен в очередь"
    assert set(answers[1:]) <= {"запуск плана уже ждёт очереди — он учтёт и этот документ",
                                "план сейчас выполняется; следующий запуск начнётся сразу после него"}
    deadline = time.monotonic() + 120
    while get(f"{url}/health")["runs"] < 4:
        assert time.monotonic() < deadline, "no run after the burst"
        time.sleep(0.5)
    time.sleep(8)  # a run too many would have started by now
    assert get(f"{url}/health")["runs"] - 3 in (1, 2), get(f"{url}/health")
    assert get(f"{url}/health")["failures"] == 0

    # SIGTERM: the server stops cleanly and says so.
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    out, err = proc.output()
    assert proc.returncode == 0, err[-2000:]
    assert "nok serve остановлен" in out
    # Two plans ran at once on start, yet Prefect's local API was started once (by nok
    # serve, before any run: Prefect never started one of its own), and stopped quietly.
    assert out.count("Локальный API Prefect: http://127.0.0.1:") == 1
    assert "Starting temporary server" not in err and "Traceback" not in err, err[-3000:]
    assert not (tmp_path / ".nok" / "serve.json").exists()


@pytest.mark.slow
def test_sweep_command_runs_every_plan_once(tmp_path):
    env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1"}
    env.pop("NOK_DATABASE_URL", None)
    env.pop("PREFECT_API_URL", None)
    for name in ("orenburg-raion-2024.yaml", "gorod-2018.yaml"):
        assert run_nok("plan", "load", f"plan_definitions/{name}", env=env).returncode == 0
    result = run_nok("sweep", "--now", "2024-10-01", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "выполнено планов: 2 из 2" in result.stdout
    status = json.loads(run_nok("status", "--plan", "orenburg-raion-2024", "--json", env=env).stdout)
    # the sweep stored its statuses as of 01.10.2024 (the status command recomputes for today)
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / '.nok' / 'nok.db'}")
    with engine.connect() as conn:
        stored = dict(conn.execute(text(
            "select i.key, o.status from obligation o join item i on i.id = o.item_id "
            "where i.plan_id = 'orenburg-raion-2024' and o.period in ('2024-Q3', '2024-Q4')")).all())
    assert stored["I.1"] == "escalated" and stored["I.2"] == "open"
    assert len(status) == 12


def test_transient_faults_are_told_from_real_errors():
    from prefect.states import Failed
    from sqlalchemy.exc import OperationalError

    from nok_workflow.runtime.flows import transient_fault

    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    assert transient_fault(None, None, Failed(data=locked)) is True
    assert transient_fault(None, None, Failed(data=ValueError("a bug"))) is False


@pytest.mark.slow
def test_serve_on_a_busy_port_says_so(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_nok("serve", "--port", str(port), env={"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": ""})
    assert result.returncode == 1
    assert f"адрес 127.0.0.1:{port} недоступен" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_serve_killed_with_sigkill_leaves_no_orphan_and_restarts(served, tmp_path):
    proc, url, env = served
    out = ""
    deadline = time.monotonic() + 120
    while "Локальный API Prefect: " not in out:
        assert time.monotonic() < deadline and proc.poll() is None, proc.output()
        time.sleep(0.5)
        out = proc.output()[0]
    api = out.split("Локальный API Prefect: ", 1)[1].split()[0]
    get(f"{api}/health")  # it is up
    os.kill(proc.pid, signal.SIGKILL)  # only nok serve itself, as the OOM killer would
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while True:  # its Prefect API goes with it
        try:
            get(f"{api}/health")
        except OSError:
            break
        assert time.monotonic() < deadline, "Prefect's local API outlived nok serve"
        time.sleep(0.5)
    assert (tmp_path / ".nok" / "serve.json").exists()  # stale: nobody holds the lock
    submitted = run_nok("evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
                        "--url", "https://example.org/p", env=env)
    assert submitted.returncode == 0 and "шаги плана выполнены сразу (nok serve не запущен)" in submitted.stdout
    port = free_port()
    again = subprocess.Popen([sys.executable, "-m", "nok_workflow.cli", "serve", "--port", str(port)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get(f"http://127.0.0.1:{port}/health")["status"] == "ok"
                break
            except OSError:
                assert again.poll() is None and time.monotonic() < deadline, "nok serve did not start again"
                time.sleep(0.3)
    finally:
        os.killpg(again.pid, signal.SIGTERM)
        again.wait(timeout=60)
    assert again.returncode == 0


def test_plan_runs_coalesce_a_burst_into_one_running_and_one_waiting():
    import threading

    from nok_workflow.runtime.plan_runs import PlanRuns

    runs, started, release = [], threading.Semaphore(0), threading.Event()

    def run(plan_id: str, now: str | None, allow_past: bool) -> None:
        runs.append((plan_id, now))
        started.release()
        release.wait(10)

    threads = []

    def submit(start) -> None:  # noqa: ANN001 - what the scheduler's executor does
        threads.append(threading.Thread(target=start))
        threads[-1].start()

    plans = PlanRuns(submit, run)
    assert plans.request("p", "2024-10-01") == "запуск плана поставлен в очередь"
    assert started.acquire(timeout=10)
    answers = [plans.request("p", f"2024-10-0{day}") for day in range(2, 7)]
    assert answers[0] == "план сейчас выполняется; следующий запуск начнётся сразу после него"
    assert set(answers[1:]) == {"запуск плана уже ждёт очереди — он учтёт и этот документ"}
    assert plans.request("q") == "запуск плана поставлен в очередь"  # another plan is not held up
    assert started.acquire(timeout=10)
    release.set()
    assert started.acquire(timeout=10)
    for t in list(threads):
        t.join(10)
    # The waiting run took the last moment asked for; nothing ran a third time.
    assert sorted(runs) == [("p", "2024-10-01"), ("p", "2024-10-06"), ("q", None)]


def test_a_run_that_raises_is_retried_after_its_delays_then_its_waiters_learn_why():
    import threading

    from nok_workflow.runtime.plan_runs import PlanRuns, Ticket

    attempts, told, later = [], [], []

    def run(plan_id: str, now: str | None, allow_past: bool) -> str:
        attempts.append(now)
        if len(attempts) <= 2:
            raise ConnectionError("API refused")
        return "done"

    plans = PlanRuns(lambda start: start(), run, submit_later=lambda start, delay: later.append((start, delay)),
                     retry_delays=(1.0, 5.0), report=lambda *args: told.append(args[1:]))
    first = Ticket()
    plans.request("p", "2024-10-01", ticket=first)
    assert [d for _, d in later] == [1.0] and not first.wait(0)  # waits for its retry
    second = Ticket()
    assert plans.request("p", "2024-10-02", ticket=second) == "запуск плана уже ждёт очереди — он учтёт и этот документ"
    later.pop(0)[0]()  # the first retry fails too: the second delay
    assert [d for _, d in later] == [5.0] and [str(e) for e, _ in told] == ["API refused"] * 2
    later.pop(0)[0]()
    assert first.outcome() == second.outcome() == "done" and attempts[-1] == "2024-10-02"

    # No attempt left: the waiters learn the error, once.
    failing = PlanRuns(lambda start: start(), lambda *_: (_ for _ in ()).throw(ConnectionError("down")),
                       submit_later=lambda start, delay: later.append((start, delay)), retry_delays=(),
                       report=lambda *args: told.append(args[1:]))
    gone = Ticket()
    failing.request("q", ticket=gone)
    assert later == [] and told[-1][1] is None
    with pytest.raises(ConnectionError, match="down"):
        gone.outcome()

    # A run stopped by the process's end still answers whoever waits for it.
    def stopped(*_):  # noqa: ANN002, ANN202
        raise SystemExit(0)

    threads = []
    ending = PlanRuns(lambda start: threads.append(threading.Thread(target=lambda: pytest.raises(SystemExit, start))),
                      stopped)
    waiter = Ticket()
    ending.request("r", ticket=waiter)
    threads[0].start()
    threads[0].join(10)
    assert waiter.wait(0)
    with pytest.raises(SystemExit):
        waiter.outcome()
