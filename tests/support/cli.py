"""The real `nok` command in its own process, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys


def run_nok(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a real process, as a user would."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nok_workflow.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=120,
    )


def imported(stderr: str) -> set[str]:
    """The top-level packages a `python -X importtime` run imported."""
    return {line.split("|")[-1].strip().split(".")[0] for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def importtime_nok(*args: str, env: dict) -> tuple[int, str, set[str]]:
    """`nok` under `python -X importtime`: (exit code, its output without the timings, the
    top-level packages it imported)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nok_workflow.cli", *args],
                          capture_output=True, text=True, env={**env, "COLUMNS": "200"}, timeout=120)
    messages = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc.returncode, proc.stdout + messages, imported(proc.stderr)
