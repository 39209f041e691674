"""The bad-input corpus's one check: a user's mistake is refused with a clear message, the
exit code says so, there is no traceback, and nothing was written — not to the store, not to
the evidence folder, not beside the input.

Every `tests/test_bad_input_*.py` module states its cases as data and calls `assert_refused`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

TIMEOUT = 120


def nok(*args: str, home: Path, env: dict[str, str] | None = None, stdin: bytes | None = None,
        timeout: float = TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """The real `nok` in its own process, on the embedded store under `home` (SQLite)."""
    full = {**os.environ, "COLUMNS": "200", "NOK_HOME": str(home), "NOK_DATABASE_URL": "",
            "PREFECT_API_URL": "", **(env or {})}
    if "NOK_NOW" not in (env or {}):
        full.pop("NOK_NOW", None)  # the caller's simulation must not leak into a case
    return subprocess.run([sys.executable, "-m", "nok_workflow.cli", *args], capture_output=True, env=full,
                          input=stdin, timeout=timeout)


def snapshot(*roots: Path) -> dict[str, object]:
    """Every table's rows (as text) of each SQLite store found under the roots, and every
    file (name → sha256) under them: two equal snapshots mean nothing was written."""
    seen: dict[str, object] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.name.endswith((".db-wal", ".db-shm")):
                continue  # SQLite's journal files change on any read
            if path.suffix == ".db":
                engine = create_engine(f"sqlite:///{path}")
                with engine.connect() as conn:
                    for table in inspect(conn).get_table_names():
                        rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
                        seen[f"{path}:{table}"] = [tuple(map(str, r)) for r in rows]
                engine.dispose()
            else:
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def assert_refused(result: subprocess.CompletedProcess[bytes], message: str, *, before: dict | None = None,
                   after: dict | None = None, code: int = 1) -> str:
    """The run failed with `code`, said `message` on stderr, printed no traceback, and (when
    snapshots are given) changed nothing. Returns stderr, decoded."""
    err = result.stderr.decode("utf-8", errors="replace")
    out = result.stdout.decode("utf-8", errors="replace")
    assert result.returncode == code, (result.returncode, out[-2000:], err[-2000:])
    assert message in err, (message, err[-2000:])
    assert "Traceback" not in err + out, err[-3000:]
    if before is not None:
        assert after == before, "something was written"
    return err
