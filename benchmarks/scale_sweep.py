"""The daily sweep at scale: its service time with the same number of obligations in the
reminder window, in a store of ~100k and of ~1M obligations (it must not grow with the store)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import Engine, select, update

from benchmarks.figures import Section, best_of, ratio, seconds
from benchmarks.region import SIZES, write_region
from benchmarks.scale_store import count, load_region, store
from nok_workflow.services.jobs import plan_run
from nok_workflow.store.models import Obligation, Outbox, Plan

FIRST = dt.datetime(2025, 3, 10, 4, tzinfo=dt.UTC)  # 09:00 in the plans' Asia/Yekaterinburg
DAY = FIRST + dt.timedelta(days=1)


def sweep_all(engine: Engine, now: dt.datetime) -> int:
    """Every plan's daily work without Prefect, as the plan flows do it; → messages queued."""
    with engine.connect() as conn:
        ids = conn.execute(select(Plan.id).order_by(Plan.id)).scalars().all()
    return sum(o.queued for plan_id in ids for o in plan_run.steps(engine, plan_id, now))


def into_window(engine: Engine, wanted: int) -> int:
    """Bring `wanted` open obligations due months later into tomorrow's reminder window (due in
    3 days, a default reminder day), the same number whatever the store's size."""
    day = DAY.date()
    table = Obligation.__table__
    with engine.begin() as conn:
        ids = conn.execute(select(table.c.id).where(
            table.c.state == "active", table.c.completed_on.is_(None), table.c.org_id != "",
            table.c.due > day + dt.timedelta(days=60)).order_by(table.c.id).limit(wanted)).scalars().all()
        conn.execute(update(table).where(table.c.id.in_(ids)).values(
            due=day + dt.timedelta(days=3), opens=day - dt.timedelta(days=30)))
    return len(ids)


def measure(sizes: dict[str, str], work: Path, backends: list[str], postgres_url: str, repeats: int
            ) -> list[Section]:
    big, hundred = sizes["big"], sizes["hundred"]
    paths = {size: write_region(work / size, size) for size in (hundred, big)}
    sections = []
    for backend in backends:
        s = Section(f"Daily sweep, {backend}: cost by what is due, not by the store's size",
                    f"Every plan of `{hundred}` and of W-1M `{big}` swept with `plan_run.steps` (the plan "
                    "flow's service calls, without Prefect) on 10.03, then on 11.03 with the same number of "
                    "obligations (1 % of W-1M) moved into the reminder window; the second sweep is timed, "
                    "best of repeats on copies of the same state.")
        timed: dict[str, float] = {}
        wanted = None
        for size in (big, hundred):
            with store(backend, work, f"sweep-{size}", postgres_url) as (engine, _):
                load_region(engine, paths[size])
                rows = count(engine)
                wanted = wanted or max(1, rows // 100)
                start = time.perf_counter()
                sweep_all(engine, FIRST)
                first = time.perf_counter() - start
                moved = into_window(engine, wanted)
                saved = _snapshot(engine)
                took, queued = best_of(repeats, lambda e=engine: sweep_all(e, DAY),
                                       before=lambda e=engine, snap=saved: _restore(e, snap))
                timed[size] = took
                label = "W-1M" if size == big else size
                s.add(f"{label} ({rows:,} obligations, {SIZES[size][1]} plans): first sweep of the year so far",
                      seconds(first))
                s.add(f"{label}: daily sweep, {moved:,} obligations in the reminder window "
                      f"({queued:,} messages queued)", seconds(took),
                      target="≤ 0.5 s" if size == big else "", met=took <= 0.5 if size == big else None)
        growth = timed[big] / timed[hundred]
        s.add(f"sweep(W-1M) / sweep({hundred}), same due count", ratio(growth), target="≤ 1.5", met=growth <= 1.5)
        sections.append(s)
    return sections


def _snapshot(engine: Engine) -> dict:
    """What a sweep changes (statuses, the outbox, the plans' last run day), to sweep the same day again."""
    with engine.connect() as conn:
        return {"obligations": _states(conn),
                "outbox": conn.execute(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)).scalar() or 0,
                "plans": [dict(r._mapping) for r in conn.execute(select(Plan.id, Plan.last_run_on))]}


def _states(conn) -> dict:  # noqa: ANN001 - a Connection
    table = Obligation.__table__
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        select(table.c.id, table.c.status, table.c.level, table.c.revision, table.c.changed_at))}


def _restore(engine: Engine, snap: dict) -> None:
    """Put back only the rows the last sweep changed."""
    from sqlalchemy import bindparam, delete

    table = Obligation.__table__
    with engine.begin() as conn:
        changed = [oid for oid, state in _states(conn).items() if snap["obligations"][oid] != state]
        conn.execute(delete(Outbox).where(Outbox.id > snap["outbox"]))
        if changed:
            conn.execute(update(table).where(table.c.id == bindparam("oid")).values(
                status=bindparam("s"), level=bindparam("l"), revision=bindparam("r"), changed_at=bindparam("c")),
                [dict(zip(("oid", "s", "l", "r", "c"), (oid, *snap["obligations"][oid]), strict=True))
                 for oid in changed])
        conn.execute(update(Plan.__table__).where(Plan.__table__.c.id == bindparam("pid")).values(
            last_run_on=bindparam("d")), [{"pid": r["id"], "d": r["last_run_on"]} for r in snap["plans"]])
