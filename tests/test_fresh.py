"""store/fresh.py: a remembered read is reused until this process writes or its time is up."""

from __future__ import annotations

import time

from sqlalchemy import text

from nok_workflow.store.db import write_connection
from nok_workflow.store.fresh import remembered


def test_a_read_is_reused_until_a_write_or_the_time_limit(engine):
    calls = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    assert remembered(("t", str(engine.url)), 0.5, read) == 1
    assert remembered(("t", str(engine.url)), 0.5, read) == 1  # reused
    with write_connection(engine) as conn:
        conn.execute(text("UPDATE plan SET title = title"))
    assert remembered(("t", str(engine.url)), 0.5, read) == 2  # this process wrote: read again
    time.sleep(0.6)
    assert remembered(("t", str(engine.url)), 0.5, read) == 3  # another process may have written
