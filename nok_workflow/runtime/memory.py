"""Memory of a long-running `nok serve`: few malloc arenas, and the heap a finished run
freed handed back to the system."""

from __future__ import annotations

import contextlib


def few_arenas() -> None:
    """Two malloc arenas, not eight per core: runs, the web server and Prefect's API each
    work on threads of their own, and every arena keeps the peak of what its threads freed.
    Before any thread starts."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX


def release_memory() -> None:
    """Hand the heap a finished run freed back to the system: glibc keeps it otherwise, and
    a region's run would leave tens of MB resident for nothing."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
