"""Benchmark: validate and load a region-sized plan, then query the store (SQLite and PostgreSQL).

    .venv/bin/python -m benchmarks.bench_store [--schools 3000] [--postgres URL]

Prints a Markdown table for docs/benchmarks.md. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from benchmarks.region import region_plan
from nok_workflow.plan.validate import load_plan
from nok_workflow.services import plans
from nok_workflow.services.obligations import list_obligations
from nok_workflow.store.db import connect
from nok_workflow.store.models import Obligation

NOW = dt.datetime(2025, 3, 20, 9, tzinfo=dt.UTC)


def timed(label: str, results: list, fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    value = fn()
    results.append((label, time.perf_counter() - start))
    return value


def run(url: str, path: Path, backend: str) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []
    engine = timed(f"{backend}: connect + migrate", results, lambda: connect(url))
    timed(f"{backend}: nok plan load (new plan)", results,
          lambda: plans.load(engine, path, actor=None, now=NOW))
    timed(f"{backend}: nok plan load again (no change)", results,
          lambda: plans.load(engine, path, actor=None, now=NOW))
    amended = path.with_name("amended.yaml")
    amended.write_text(path.read_text(encoding="utf-8").replace("deadline: Декабрь", "deadline: Ноябрь"),
                       encoding="utf-8")
    timed(f"{backend}: amendment (one item's deadline moved)", results,
          lambda: plans.load(engine, amended, actor=None, now=NOW))
    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(Obligation)).scalar_one()
        window = (select(Obligation.id).where(
            Obligation.plan_id == "region-2025", Obligation.state == "active",
            Obligation.completed_on.is_(None), Obligation.due.between(dt.date(2025, 3, 20), dt.date(2025, 4, 3))))
        rows = timed(f"{backend}: window query (due in 14 days, open)", results,
                     lambda: session.execute(window).all())
        explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
        compiled = window.compile(engine, compile_kwargs={"literal_binds": True})
        plan_text = " | ".join(str(r[-1]) for r in session.execute(text(explain + str(compiled))))
    timed(f"{backend}: nok status for one school", results,
          lambda: list_obligations(engine, now=NOW, org="school-00042"))
    results.append((f"{backend}: obligations in store", float(total)))
    results.append((f"{backend}: rows in the window", float(len(rows))))
    print(f"{backend} window query plan: {plan_text}")
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=3000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "region.yaml"
        path.write_text(region_plan(args.schools), encoding="utf-8")
        results: list[tuple[str, float]] = []
        timed("validate + compile (nok plan validate)", results, lambda: load_plan(path))
        results += run(f"sqlite:///{tmp}/nok.db", path, "sqlite")
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"nok_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results += run(args.postgres.rsplit("/", 1)[0] + "/" + name, path, "postgresql")
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\n| measure ({args.schools} schools) | value |\n|---|---|")
    for label, value in results:
        shown = f"{value:,.0f}" if "obligations" in label or "rows" in label else f"{value * 1000:,.0f} ms"
        print(f"| {label} | {shown} |")


if __name__ == "__main__":
    main()
