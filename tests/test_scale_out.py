"""Scale-out, for real: a Prefect server on PostgreSQL started by scripts/prefect-server, a
process work pool and a worker, deployments from prefect.yaml and `nok plan load`, and plan
flow runs by the worker writing to the same PostgreSQL store. Everything is started and
stopped here, and the databases dropped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlmodel import Session

from nok_workflow.store.models import Item, Obligation
from tests.conftest import PG_ADMIN, ROOT, _postgres_or_skip
from tests.test_serve import free_port

BIN = Path(sys.executable).parent


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def cluster(tmp_path):
    admin = _postgres_or_skip()
    suffix = uuid.uuid4().hex[:8]
    store_db, prefect_db = f"nok_store_{suffix}", f"nok_prefect_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{store_db}"'))
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "NOK_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + store_db, "NOK_HOME": str(tmp_path / ".nok"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []

    def start(name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True,
                                stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    def run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
        return result

    try:
        start("server", sys.executable, str(ROOT / "scripts" / "prefect-server"), "--port", str(port),
              "--database", prefect_db, "--postgres", PG_ADMIN.rsplit("/", 1)[0])
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (logs / "server.log").read_text()[-3000:]
                time.sleep(1)
        yield env, run, start, create_engine(env["NOK_DATABASE_URL"])
    finally:
        for proc in reversed(procs):
            _stop(proc)
        with admin.connect() as conn:
            for name in (store_db, prefect_db):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def statuses(engine) -> dict[tuple[str, str], str]:
    with Session(engine) as session:
        return {(k, p): s for k, p, s in session.execute(
            select(Item.key, Obligation.period, Obligation.status).join(Item, Item.id == Obligation.item_id))}


def test_plan_flows_run_on_a_worker_against_the_postgresql_store(cluster):
    env, run, start, store = cluster
    # Loading before the work pool exists: the plan is stored, the deployment is refused clearly.
    early = subprocess.run([str(BIN / "nok"), "plan", "load", "plan_definitions/orenburg-raion-2024.yaml",
                            "--now", "2024-09-17"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert early.returncode == 1 and "загружено: версия 1" in early.stdout
    assert "не удалось зарегистрировать развёртывание плана «orenburg-raion-2024»" in early.stderr
    assert "prefect work-pool create nok-process --type process" in early.stderr and "Traceback" not in early.stderr
    run(str(BIN / "prefect"), "work-pool", "create", "nok-process", "--type", "process")
    run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all")
    deployed = run(str(BIN / "nok"), "plan", "deploy", "orenburg-raion-2024")
    assert "развёртывание nok-plan/orenburg-raion-2024: ежедневно в 9:00 (Asia/Yekaterinburg)" in deployed.stdout
    start("worker", str(BIN / "prefect"), "worker", "start", "--pool", "nok-process", "--type", "process")

    # The generic deployment from prefect.yaml, run by the worker, for a chosen day.
    run(str(BIN / "prefect"), "deployment", "run", "nok-plan/nok-plan", "--param", "plan_id=orenburg-raion-2024",
        "--param", "now=2024-10-01T05:00:00+00:00", "--watch", "--watch-timeout", "240")
    after = statuses(store)
    assert after[("I.1", "2024-Q3")] == "escalated" and after[("I.2", "2024-Q4")] == "open"

    # Evidence: an event; the plan's own deployment's trigger runs the flow on the worker.
    submitted = run(str(BIN / "nok"), "evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.2",
                    "--by", "sovet", "--url", "https://example.org/dogovor", "--document-date", "2024-10-10",
                    "--now", "2024-10-11")
    assert "событие отправлено серверу Prefect" in submitted.stdout
    deadline = time.monotonic() + 180
    while statuses(store)[("I.2", "2024-Q4")] != "done":
        assert time.monotonic() < deadline, "the evidence event did not run the plan flow"
        time.sleep(2)
