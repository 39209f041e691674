"""Store at region scale: loading the region's plans, an amendment, one organisation's status;
each load beside a raw executemany (SQLite) / COPY (PostgreSQL) of the very same rows."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from benchmarks.common import drop, postgres_database
from benchmarks.figures import Section, ratio, seconds
from benchmarks.region import SIZES, region_plan, write_region
from nok_workflow.expand import expand
from nok_workflow.services.commands import plans
from nok_workflow.services.read.obligations import list_obligations
from nok_workflow.store.db import connect
from nok_workflow.store.models import Item, Obligation, Plan

NOW = dt.datetime(2025, 1, 9, 4, tzinfo=dt.UTC)  # loaded at the start of the plans' year
STATUS_AT = dt.datetime(2025, 3, 20, 4, tzinfo=dt.UTC)


@contextmanager
def store(backend: str, work: Path, name: str, postgres_url: str):  # noqa: ANN201 - a context of (Engine, url)
    """A new empty store of the backend, migrated; removed afterwards."""
    if backend == "SQLite":
        path = work / f"{name}.db"
        url = f"sqlite:///{path}"
        engine = connect(url)
        try:
            yield engine, url
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    made = postgres_database(postgres_url)
    if made is None:
        raise RuntimeError("PostgreSQL недоступен")
    admin, url = made
    engine = connect(url)
    try:
        yield engine, url
    finally:
        engine.dispose()
        drop(admin, url)


def load_region(engine: Engine, paths: list[Path]) -> dict[str, float]:
    """Load every plan as `nok plan load` does; → seconds: total, reading (parse + validate +
    compile), expanding into obligations, and the store's part (the rest)."""
    start = time.perf_counter()
    read = [plans.read_plan_file(p) for p in paths]
    reading = time.perf_counter() - start
    expanding = 0.0
    for loaded, _ in read:
        t = time.perf_counter()
        expand(loaded.compiled)
        expanding += time.perf_counter() - t
    t = time.perf_counter()
    for path, pre in zip(paths, read, strict=True):
        plans.load(engine, path, actor=None, now=NOW, read=pre)
    storing = time.perf_counter() - t
    return {"total": reading + storing, "reading": reading, "expanding": expanding,
            "database": storing - expanding}


def raw_insert(source: Engine, backend: str, work: Path, postgres_url: str) -> float:
    """Seconds to write the same obligation rows, with plain executemany (SQLite) or COPY
    (PostgreSQL), into an empty store of the same schema and indexes: the floor for our load."""
    table = Obligation.__table__
    columns = [c.name for c in table.columns if c.name != "id"]
    with source.connect() as conn:
        plan_rows = [dict(r._mapping) for r in conn.execute(select(Plan.__table__))]
        item_rows = [dict(r._mapping) for r in conn.execute(select(Item.__table__))]
        rows = [tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))]
    with store(backend, work, "raw", postgres_url) as (engine, _):
        with engine.begin() as conn:
            conn.execute(insert(Plan.__table__), plan_rows)
            conn.execute(insert(Item.__table__), item_rows)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            start = time.perf_counter()
            if backend == "SQLite":
                rows = [tuple(v.isoformat(" ") if isinstance(v, dt.datetime) else
                              v.isoformat() if isinstance(v, dt.date) else v for v in r) for r in rows]
                start = time.perf_counter()
                cursor.execute("BEGIN")
                cursor.executemany(f"INSERT INTO obligation ({', '.join(columns)}) "
                                   f"VALUES ({', '.join('?' * len(columns))})", rows)
                cursor.execute("COMMIT")
            else:
                with cursor.copy(f"COPY obligation ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
                raw.commit()
            return time.perf_counter() - start
        finally:
            raw.close()


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Obligation)).scalar_one()


def status_times(engine: Engine, org: str) -> tuple[float, float, int]:
    """`nok status --org` inside the service: the first call of a process and the median of 5 more."""
    start = time.perf_counter()
    rows = list_obligations(engine, now=STATUS_AT, org=org)
    first = time.perf_counter() - start
    again = []
    for _ in range(5):
        start = time.perf_counter()
        list_obligations(engine, now=STATUS_AT, org=org)
        again.append(time.perf_counter() - start)
    return first, statistics.median(again), len(rows)


def amend(engine: Engine, path: Path, old: str, new: str) -> float:
    amended = path.with_name(path.stem + "-amended.yaml")
    amended.write_text(path.read_text(encoding="utf-8").replace(f"deadline: {old}", f"deadline: {new}", 1),
                       encoding="utf-8")
    start = time.perf_counter()
    result = plans.load(engine, amended, actor=None, now=NOW + dt.timedelta(days=1))
    took = time.perf_counter() - start
    assert result.applied and result.diff.obligations_rescheduled, "the amendment changed nothing"
    return took


def measure(sizes: dict[str, str], work: Path, backends: list[str], postgres_url: str) -> list[Section]:
    region, big = sizes["region"], sizes["big"]
    region_paths = write_region(work / "region", region)
    big_paths = write_region(work / "big", big)
    one_plan = work / "one-plan.yaml"
    one_plan.write_text(region_plan(SIZES[region][0]), encoding="utf-8")
    sections = []
    for backend in backends:
        s = Section(f"Store, {backend}: loading a region, an amendment, one school's status",
                    f"W-region `{region}` ({SIZES[region][1]} municipal plans, {SIZES[region][0]:,} schools) and "
                    f"W-1M `{big}` ({SIZES[big][0]:,} schools), each loaded into a new store with `plans.load` "
                    "(what `nok plan load` calls), plan after plan. Baseline: the same obligation rows written "
                    "raw into an empty store of the same schema and indexes "
                    + ("(one executemany)." if backend == "SQLite" else "(COPY)."))
        with store(backend, work, "region", postgres_url) as (engine, _):
            loaded = load_region(engine, region_paths)
            rows = count(engine)
            raw = raw_insert(engine, backend, work, postgres_url)
            s.add(f"load W-region ({rows:,} obligations): total", seconds(loaded["total"]),
                  target="≤ 3 s", met=loaded["total"] <= 3)
            s.add("— of which reading (parse, validate, compile)", seconds(loaded["reading"]))
            s.add("— of which expanding into obligations", seconds(loaded["expanding"]))
            s.add("— of which the database part", seconds(loaded["database"]), baseline=f"raw {seconds(raw)}",
                  target="≤ 2× raw", met=loaded["database"] <= 2 * raw)
            took = amend(engine, region_paths[0], "Май", "Апрель")
            s.add("amendment: one school item's deadline moved in one municipal plan", seconds(took),
                  target="≤ 1 s", met=took <= 1)
            first, median, shown = status_times(engine, "school-00042")
            s.add(f"status of one school ({shown} obligations), first call / again", f"{seconds(first)} / "
                  f"{seconds(median)}")
            region_status = median
        with store(backend, work, "big", postgres_url) as (engine, _):
            loaded_big = load_region(engine, big_paths)
            rows_big = count(engine)
            raw_big = raw_insert(engine, backend, work, postgres_url)
            growth = loaded_big["total"] / loaded["total"]
            s.add(f"load W-1M ({rows_big:,} obligations): total", seconds(loaded_big["total"]),
                  baseline=f"raw {seconds(raw_big)}")
            s.add("load(W-1M) / load(W-region)", ratio(growth), baseline=f"rows {rows_big / rows:.2f}×",
                  target="≤ 5.5", met=growth <= 5.5)
            first, median, shown = status_times(engine, "school-00042")
            s.add(f"status of one school at W-1M ({shown} obligations), first call / again",
                  f"{seconds(first)} / {seconds(median)}", target="≤ 50 ms", met=median <= 0.05)
            s.add("status at W-1M / at W-region", ratio(median / region_status), target="≤ 1.5",
                  met=median / region_status <= 1.5)
        with store(backend, work, "one", postgres_url) as (engine, _):
            one = load_region(engine, [one_plan])
            s.add(f"one regional plan of {SIZES[region][0]:,} schools ({count(engine):,} obligations): load",
                  seconds(one["total"]), target="≤ 3 s", met=one["total"] <= 3)
            took = amend(engine, one_plan, "Декабрь", "Ноябрь")
            s.add("— amendment: one item's deadline moved (every school's obligation of it)", seconds(took),
                  target="≤ 1 s", met=took <= 1)
        sections.append(s)
    return sections
