"""PostgreSQL's planner statistics of the obligation table, refreshed where the store changes
in bulk.

The daily sweep is a set of index seeks that the planner chooses by the table's statistics.
After a bulk load, or a first sweep that changed most statuses, they describe another table;
autovacuum catches up within minutes, but a run right after a load is planned blind
meanwhile: a region's first sweep at 100k obligations took 157 s instead of 10 s, its next
daily sweep 126 s instead of 7 s. SQLite needs nothing: it plans by its indexes' shapes.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

_LOCK_KEY = 0x6E6F6B61  # one ANALYZE at a time per store; the others go on without waiting
_MIN_ROWS = 1000  # below this, autovacuum's own pace is fine
# Autovacuum's own rule (autovacuum_analyze_scale_factor 0.1), checked when we change rows.
_STALE = text("SELECT coalesce(n_mod_since_analyze > :least + 0.1 * n_live_tup, false) "
              "FROM pg_stat_user_tables WHERE relname = 'obligation'")
_KNOWN = text("SELECT reltuples FROM pg_class WHERE relname = 'obligation' AND relkind = 'r'")


def analyze_if_stale(engine: Engine, changed: int = 0) -> bool:
    """ANALYZE the obligation table once a tenth of it changed since the last time: judged by
    `changed` (the rows the caller has just written) or else by the server's counters (they
    lag by up to a second). → whether it was analyzed."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        if changed >= _MIN_ROWS:
            known = conn.execute(_KNOWN).scalar() or 0
            stale = known < 0 or changed > 0.1 * known  # -1: never analyzed
        else:
            stale = bool(conn.execute(_STALE, {"least": _MIN_ROWS}).scalar())
        if not stale or not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}).scalar():
            return False
        conn.execute(text("ANALYZE obligation"))
        conn.commit()
    return True
