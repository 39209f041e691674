"""`nok serve` in a real process, and what the tests ask it: a free port, its JSON
endpoints, its children, and a kill of its whole process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.cli import run_nok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def start_serve(tmp_path, preload: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str, dict]:
    """`nok serve` in a real process on the SQLite store NOK_HOME=tmp_path/.nok, after
    `nok plan load` of the given bundled plans (none: an empty store, which gets the demo)."""
    env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1"}
    env.pop("NOK_DATABASE_URL", None)
    env.pop("PREFECT_API_URL", None)
    for name in preload:
        loaded = run_nok("plan", "load", f"plan_definitions/{name}.yaml", env=env)
        assert loaded.returncode == 0, loaded.stderr
    port = free_port()
    proc = serve_in(env, port, tmp_path)
    url = f"http://127.0.0.1:{port}"
    return proc, url, env


def serve_in(env: dict, port: int, logs_dir, startup: float = 60) -> subprocess.Popen:  # noqa: ANN001 - a Path
    """`nok serve --port PORT` with `env`, started and answering /health.

    Its own process group: if the test fails and kills it, Prefect's local API server (a
    child of `nok serve`) goes too instead of holding the output pipes open for ever.
    Output goes to files in `logs_dir`: Prefect logs every step, and an undrained pipe would
    fill and block the server."""
    logs = (logs_dir / "serve.out", logs_dir / "serve.err")
    out, err = (path.open("w", encoding="utf-8") for path in logs)
    with out, err:  # the child has its own copies
        proc = subprocess.Popen([sys.executable, "-m", "nok_workflow.cli", "serve", "--port", str(port)],
                                env=env, stdout=out, stderr=err, text=True, start_new_session=True)
    proc.output = lambda: tuple(path.read_text(encoding="utf-8") for path in logs)
    deadline = time.monotonic() + startup
    while True:
        try:
            get(f"http://127.0.0.1:{port}/health")
            return proc
        except OSError:
            if _exited(proc) or time.monotonic() > deadline:
                pytest.fail(f"nok serve did not start: {kill_group(proc)}")
            time.sleep(0.3)


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the process has ended, without reaping it: its group can still be killed."""
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
    return found


def kill_group(proc: subprocess.Popen) -> tuple[str, str]:
    """SIGKILL to the serve and every process of its group, then its output.

    Only while the leader is not yet reaped (`returncode` None; a zombie still holds its pid):
    once reaped, its pid — the group's id — may belong to an unrelated process."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.output()
