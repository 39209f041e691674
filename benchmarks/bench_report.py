"""Benchmark: the quarterly report of a region's plan (~200,000 obligations).

    .venv/bin/python -m benchmarks.bench_report [--schools 6000] [--runs 3] [--no-postgres]

Builds a store with the synthetic region plan (`benchmarks/region.py`: schools × 8 items,
quarterly, monthly and yearly ones), sweeps it at the end of Q3 with a share of documents
in (every 3rd school's Q2 and Q3 obligations done, every 7th of those late), then measures,
each as the median of `--runs`:

  (a) services.report.build_report for 2025 Q3 and for the year to date (the SQL part);
  (b) rendering the built report: JSON, HTML, XLSX, DOCX;
  (c) the whole (a) + (b) per format — what `nok report` and the report page spend.

On SQLite, and on PostgreSQL when the server at --postgres answers. Prints a Markdown table
for docs/benchmarks.md. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from benchmarks.common import region_stores

PLAN = "region-2025"
NOW = "2025-10-01T09:00+05:00"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGETS = {"json": 2.0, "html": 2.0, "xlsx": 10.0, "docx": 5.0}


def make_store(url: str, plan_path: Path) -> int:
    """The plan loaded, a third of the schools' Q2–Q3 documents in (in bulk, as SQL), swept."""
    from sqlalchemy import func, select, update
    from sqlmodel import Session

    from nok_workflow import clock
    from nok_workflow.services import plans, sweep
    from nok_workflow.store.db import connect, write_session
    from nok_workflow.store.models import NO_ORG, Obligation

    engine = connect(url)
    plans.load(engine, plan_path, actor=None, now=clock.parse_now("2025-01-09T09:00+05:00"))
    with write_session(engine) as session:
        ob = Obligation
        done = ob.due.between(dt.date(2025, 4, 1), dt.date(2025, 9, 30)) & (ob.org_id != NO_ORG)
        session.execute(update(ob).where(done, ob.id % 3 == 0).values(completed_on=ob.due))
        late = ob.due + 4 if engine.dialect.name == "postgresql" else func.date(ob.due, "+4 days")
        session.execute(update(ob).where(done, ob.id % 21 == 0).values(completed_on=late))
    sweep.sweep_plan(engine, PLAN, clock.parse_now(NOW))
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Obligation)).scalar()
    engine.dispose()
    return count


def median_s(runs: int, work) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(url: str, runs: int) -> dict[str, float]:
    from nok_workflow import clock
    from nok_workflow.reports.formats import render
    from nok_workflow.reports.model import report_period
    from nok_workflow.services.report import build_report
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    found: dict[str, float] = {}
    for label, period in (("q", report_period(2025, 3)), ("ytd", report_period(2025, 3, True))):
        found[f"build_{label}"], report = median_s(runs, lambda p=period: build_report(
            engine, PLAN, p, now=now, base_url="http://127.0.0.1:8470"))
        for fmt in ("json", "html", "xlsx", "docx"):
            found[f"{fmt}_{label}"], body = median_s(runs, lambda f=fmt: render(report, f))
            found[f"{fmt}_{label}_kb"] = len(body) / 1024
        found[f"due_{label}"] = report.totals.total
        found[f"orgs_{label}"] = len(report.organisations)
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=PG_DEFAULT)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with region_stores("report", args.schools, args.postgres, args.no_postgres) as (workdir, plan_path, stores):
        for backend, url in stores:
            count = make_store(url, plan_path)
            results[backend] = {"obligations": count, **measure(url, args.runs)}

    names = list(results)
    first = results[names[0]]
    print(f"{first['obligations']:,} obligations ({args.schools:,} schools); Q3 2025: {first['due_q']:,} due, "
          f"year to date: {first['due_ytd']:,}; {first['orgs_q']:,} organisations; medians of {args.runs} runs")
    print()
    print(f"| measure | {' | '.join(f'{n} Q3 | {n} YTD' for n in names)} | target |")
    print("|---|" + "---|---|" * len(names) + "---|")

    def row(label: str, key: str, target: str) -> None:
        cells = " | ".join(f"{results[n][f'{key}_q']:,.2f} s | {results[n][f'{key}_ytd']:,.2f} s" for n in names)
        print(f"| {label} | {cells} | {target} |")

    row("(a) build_report (SQL and the lines)", "build", "—")
    for fmt in ("json", "html", "xlsx", "docx"):
        row(f"(b) render {fmt.upper()}", fmt, "—")
    for fmt in ("json", "html", "xlsx", "docx"):
        for n in names:
            for label in ("q", "ytd"):
                results[n][f"all_{fmt}_{label}"] = results[n][f"build_{label}"] + results[n][f"{fmt}_{label}"]
        row(f"(c) {fmt.upper()} end to end", f"all_{fmt}", f"≤ {TARGETS[fmt]:.0f} s")
    print()
    for n in names:
        r = results[n]
        sizes = ", ".join(f"{fmt.upper()} {r[f'{fmt}_q_kb']:,.0f} KB" for fmt in TARGETS)
        verdict = "; ".join(f"{fmt.upper()} ≤ {t:.0f} s: {'да' if max(r[f'all_{fmt}_q'], r[f'all_{fmt}_ytd']) <= t else 'НЕТ'}"
                            for fmt, t in TARGETS.items())
        print(f"{n}: {verdict}; files (Q3): {sizes}")


if __name__ == "__main__":
    main()
