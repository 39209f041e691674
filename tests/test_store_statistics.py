"""PostgreSQL plans the daily sweep's seeks by the obligation table's statistics: a bulk load
and a sweep that changed a tenth of the table refresh them at once, rather than leave a run
planned blind until autovacuum comes (a region's first sweep took 157 s instead of 10 s).
Timings live in the benchmark; here, that the statistics exist and follow the data."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import text

from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run, sweep
from nok_workflow.store.statistics import analyze_if_stale
from tests.support.plans import SCHOOL_PLAN_ID as PLAN_ID, school_plan

LOADED = dt.datetime(2025, 3, 1, 5, tzinfo=dt.UTC)


def statuses_seen(engine) -> list[str]:  # noqa: ANN001
    """The status values PostgreSQL's statistics know as the most common ones."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT most_common_vals::text FROM pg_stats "
                                  "WHERE tablename = 'obligation' AND attname = 'status'")).scalar()
    return sorted(found.strip("{}").split(",")) if found else []


@pytest.mark.slow  # a region-sized bulk load
def test_a_bulk_load_and_a_sweep_that_changed_the_table_refresh_its_statistics(engine, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(school_plan(300), encoding="utf-8")  # 300 schools: 4 + 12 obligations each
    plans.load(engine, path, actor=None, now=LOADED)
    if engine.dialect.name == "sqlite":
        assert analyze_if_stale(engine, changed=10_000) is False  # nothing to keep there
        return
    assert statuses_seen(engine) == ["upcoming"]  # analyzed by the load, before any run
    # A sweep late in the year escalates most of them. The run refreshes the statistics
    # before its steps, so it is the next run that sees them stale, once the counters reached
    # the server (a backend sends them at the end of a transaction, at most a second late, or
    # when it ends).
    day = dt.datetime(2025, 12, 20, 9, tzinfo=dt.UTC)
    for _ in plan_run.steps(engine, PLAN_ID, day):
        pass
    assert statuses_seen(engine) == ["upcoming"]
    engine.dispose()
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while not conn.execute(text("SELECT n_mod_since_analyze > 1000 FROM pg_stat_user_tables "
                                    "WHERE relname = 'obligation'")).scalar():
            assert time.monotonic() < deadline, "the server never counted the sweep's changes"
            time.sleep(0.2)
            conn.rollback()
    sweep.prepare(engine, PLAN_ID, day)  # the next run of the day
    assert "escalated" in statuses_seen(engine)  # most are escalated by December
    assert analyze_if_stale(engine) is False  # fresh now: nothing more to do
