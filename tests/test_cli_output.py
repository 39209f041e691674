"""What a person reads: whole tables when piped, Russian words for every state, audit lines
that say what changed, letters waiting for the plan's hour, and no traceback on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.cli import run_nok
from tests.support.paths import PLANS

pytestmark = pytest.mark.slow  # real `nok` processes, signals

YS = "yuzhno-sakhalinsk-2014-2016"


@pytest.fixture
def home(tmp_path):
    env = {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": "", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_API_URL": ""}
    assert run_nok("plan", "load", str(PLANS / f"{YS}.yaml"), "--now", "2014-09-01T00:00", env=env).returncode == 0
    return env


def test_piped_tables_print_whole_at_80_columns(home):
    narrow = {**home, "COLUMNS": "80"}
    status = run_nok("status", "--plan", YS, "--now", "2014-10-03", env=narrow)
    assert status.returncode == 0
    assert "…" not in status.stdout
    assert f"│ {YS} │" in status.stdout and "2014-09-30" in status.stdout
    plans = run_nok("plan", "list", env=narrow)
    assert "…" not in plans.stdout and YS in plans.stdout


def test_states_audit_and_held_letters_in_russian(home):
    # 01:00 UTC is 12:00 in Южно-Сахалинск: after the plan's 9:00, so the digests go now.
    swept = run_nok("sweep", "--now", "2014-10-03T01:00", env=home)
    assert swept.returncode == 0, swept.stderr
    listed = run_nok("outbox", "list", env=home)
    assert "отправлено" in listed.stdout and " sent " not in listed.stdout
    audit = run_nok("audit", "--plan", YS, env=home)
    assert "состояния пересчитаны  (проход по плану): пункт " in audit.stdout
    assert "ещё не начато → " in audit.stdout
    assert "план загружен  (" in audit.stdout
    # Before the plan's hour (09:00 local = 22:00 UTC the day before), letters wait — and it is said.
    early = run_nok("sweep", "--now", "2014-10-06T20:00", env=home)
    assert early.returncode == 0, early.stderr
    assert "ждут часа напоминаний плана: " in early.stdout and "отправка с 06.10.2014 22:00 UTC" in early.stdout


@pytest.mark.parametrize("wait", [0, 2], ids=["store-just-opened", "waiting-for-the-store"])
def test_sigterm_during_a_sweep_prints_no_traceback(home, tmp_path, wait):
    import sqlite3

    for name in ("orenburg-raion-2024.yaml", "gorod-2018.yaml"):
        assert run_nok("plan", "load", str(PLANS / name), env=home).returncode == 0
    db = tmp_path / ".nok" / "nok.db"
    # The test holds the store's write lock: the sweep cannot finish before the signal, however
    # fast it is, and its first write waits (SQLite's busy wait) until the lock is let go.
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen([sys.executable, "-m", "nok_workflow.cli", "sweep", "--now", "2024-10-01"],
                            env={**os.environ, **home}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _has_open(proc.pid, db):  # the command is running: past start-up, at the store
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(wait)
        proc.send_signal(signal.SIGTERM)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err + out, err[-3000:]
    assert proc.returncode == 130 and err.rstrip().endswith("прервано"), (proc.returncode, err[-500:])


def _has_open(pid: int, path) -> bool:  # noqa: ANN001 - a pathlib.Path
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False
