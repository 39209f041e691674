"""One `nok serve` per store: a file lock under NOK_HOME (SQLite) or a PostgreSQL advisory
lock. The kernel drops the file lock with the process, the server the advisory lock with the
connection, so a serve killed with SIGKILL leaves nothing that blocks the next one."""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator

from sqlalchemy import Engine, text

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

_PG_LOCK_KEY = 0x6E6F6B5F  # "nok_": one `nok serve` per PostgreSQL store


@contextlib.contextmanager
def single_instance(settings: Settings, engine: Engine) -> Iterator[None]:
    if settings.embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
        handle = open(settings.home / "serve.lock", "a+")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise _already_running(settings) from None
        try:
            yield
        finally:
            handle.close()
        return
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar():
            raise _already_running(settings)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})


def _already_running(settings: Settings) -> InputError:
    info = ""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((settings.home / "serve.json").read_text(encoding="utf-8"))
        info = f" (pid {data['pid']}, {data['url']})"
    return InputError([Problem("nok serve", 0, 0, f"для этого хранилища nok serve уже запущен{info}; "
                                                  "второй экземпляр не нужен")])
