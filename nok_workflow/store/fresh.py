"""Reads a busy page may reuse for a moment: until this process writes to the store, or
`ttl` seconds pass — another process's writes (a worker, a CLI command) show within that.

For the dashboard under fifty clients: its change stamp and the «does this login
coordinate this plan» check would otherwise be database round trips on every view.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from nok_workflow.store.db import write_generation

T = TypeVar("T")
_entries: dict[Hashable, tuple[int, float, object]] = {}


def in_flight_sql(dialect: str) -> str:
    """A SQL expression for the write transactions still running, to add to a «newest id»
    change stamp. On PostgreSQL ids are taken at insert and committed in any order: a
    transaction that took id 10 may commit after one that took 11, and «max(id) = 11» would
    hide it for good. While it runs it is in the snapshot's list; when it ends the list
    changes, and so does the stamp. SQLite's writers commit one at a time, in order."""
    if dialect == "postgresql":
        return "(SELECT string_agg(x::text, ',' ORDER BY x) FROM txid_snapshot_xip(txid_current_snapshot()) AS x)"
    return "NULL"


def remembered(key: Hashable, ttl: float, compute: Callable[[], T]) -> T:
    now, generation = time.monotonic(), write_generation()
    hit = _entries.get(key)
    if hit is not None and hit[0] == generation and now - hit[1] < ttl:
        return hit[2]  # type: ignore[return-value]
    value = compute()
    if len(_entries) > 10_000:
        _entries.clear()
    _entries[key] = (generation, now, value)
    return value
