"""`nok sweep` hands the work to a running `nok serve` of the same store (its flows are warm),
runs it in this process without Prefect when there is none, and says so when the serve it
found does not answer. Timings live in the benchmark; here: who did the work, what was
imported, what the person reads."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

import pytest

from tests.support.cli import importtime_nok, run_nok
from tests.support.serve import children, get, kill_group, start_serve

pytestmark = pytest.mark.slow  # `nok serve` and `nok` processes

NOW = "2024-10-08T09:00+05:00"


def test_sweep_goes_through_the_running_serve_without_prefect_here(tmp_path):
    proc, url, env = start_serve(tmp_path, preload=("orenburg-raion-2024", "gorod-2018"))
    try:
        deadline = time.monotonic() + 180
        while get(f"{url}/health")["runs"] < 2:  # the start-up runs
            assert time.monotonic() < deadline, get(f"{url}/health")
            time.sleep(0.5)
        before = get(f"{url}/health")["runs"]

        code, out, modules = importtime_nok("sweep", env=env)
        assert code == 0, out
        assert f"планы выполняет nok serve ({url})" in out
        assert "выполнено планов: 2 из 2" in out and "писем отправлено: " in out
        # The serve ran both plans (its count), this process only asked: no Prefect, no store here.
        assert get(f"{url}/health")["runs"] == before + 2
        assert not modules & {"prefect", "sqlalchemy", "alembic"}, sorted(modules & {"prefect", "sqlalchemy"})

        # A refusal comes back as the same one line the command prints without a serve.
        refused = run_nok("sweep", "--plan", "nope", env=env)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "план «nope» не загружен" in refused.stderr
        past = run_nok("sweep", "--plan", "gorod-2018", "--now", "2018-01-10", env=env)
        assert past.returncode == 1 and "— в прошлом" in past.stderr, past.stderr
        assert get(f"{url}/health")["runs"] == before + 2  # nothing ran for them
        assert children(proc.pid) == []
    finally:
        kill_group(proc)


def test_sweep_without_a_serve_runs_here_without_prefect(tmp_path):
    env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": "", "NOK_NOW": NOW}
    env.pop("PREFECT_API_URL", None)
    assert run_nok("plan", "load", "plan_definitions/orenburg-raion-2024.yaml", env=env).returncode == 0
    code, out, modules = importtime_nok("sweep", env=env)
    assert code == 0, out
    assert "выполнено планов: 1 из 1" in out and "писем отправлено: 3" in out
    assert "prefect" not in modules
    # 8 October is the report day of the third quarter: the plan flow's report step, done here too.
    reports = sorted(p.suffix for p in (tmp_path / ".nok" / "reports" / "orenburg-raion-2024").iterdir())
    assert reports == [".docx", ".html", ".json", ".xlsx"]


def test_a_serve_that_does_not_answer_is_said_and_the_plans_run_here(tmp_path):
    home = tmp_path / ".nok"
    env = {**os.environ, "NOK_HOME": str(home), "NOK_DATABASE_URL": "", "NOK_NOW": NOW}
    env.pop("PREFECT_API_URL", None)
    assert run_nok("plan", "load", "plan_definitions/orenburg-raion-2024.yaml", env=env).returncode == 0
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    (home / "serve.json").write_text(json.dumps({"pid": os.getpid(), "url": dead}), encoding="utf-8")
    with open(home / "serve.lock", "a+") as lock:  # held as a live, hung `nok serve` holds it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_nok("sweep", env=env)
    assert result.returncode == 0, result.stderr
    assert f"nok serve ({dead}) не ответил (" in result.stdout and "планы выполнены здесь" in result.stdout
    assert "выполнено планов: 1 из 1" in result.stdout
