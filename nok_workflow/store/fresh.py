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
