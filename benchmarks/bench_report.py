"""Benchmark: the quarterly report of a region's plan (~200,000 obligations).

Part of `python -m benchmarks` (the `report` benchmark).

Builds a store with the synthetic region plan (`benchmarks/region.py`: schools × 8 items,
quarterly, monthly and yearly ones), sweeps it at the end of Q3 with a share of documents
in (every 3rd school's Q2 and Q3 obligations done, every 7th of those late), then measures,
each as the median of its runs:

  (a) services.report.build_report for 2025 Q3 and for the year to date (the SQL part);
  (b) rendering the built report: JSON, HTML, XLSX, DOCX;
  (c) the whole (a) + (b) per format — what `nok report` and the report page spend.

On SQLite, and on PostgreSQL when the server at --postgres answers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from benchmarks.common import region_stores
from benchmarks.figures import median_of

PLAN = "region-2025"
NOW = "2025-10-01T09:00+05:00"
TARGETS = {"json": 2.0, "html": 2.0, "xlsx": 10.0, "docx": 5.0}


def make_store(url: str, plan_path: Path) -> int:
    """The plan loaded, a third of the schools' Q2–Q3 documents in (in bulk, as SQL), swept."""
    from sqlalchemy import func, select, update
    from sqlmodel import Session

    from nok_workflow import clock
    from nok_workflow.services.commands import plans
    from nok_workflow.services.jobs import plan_run
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
    plan_run.steps(engine, PLAN, clock.parse_now(NOW))
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Obligation)).scalar()
    engine.dispose()
    return count


def measure(url: str, runs: int) -> dict[str, float]:
    from nok_workflow import clock
    from nok_workflow.reports.formats import render
    from nok_workflow.reports.model import report_period
    from nok_workflow.services.read.report import build_report
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    found: dict[str, float] = {}
    for label, period in (("q", report_period(2025, 3)), ("ytd", report_period(2025, 3, True))):
        found[f"build_{label}"], report = median_of(runs, lambda p=period: build_report(
            engine, PLAN, p, now=now, base_url="http://127.0.0.1:8470"))
        for fmt in ("json", "html", "xlsx", "docx"):
            found[f"{fmt}_{label}"], body = median_of(runs, lambda f=fmt: render(report, f))
            found[f"{fmt}_{label}_kb"] = len(body) / 1024
        found[f"due_{label}"] = report.totals.total
        found[f"orgs_{label}"] = len(report.organisations)
    engine.dispose()
    return found


def sections(schools: int, runs: int, postgres_url: str, no_postgres: bool) -> list:
    from benchmarks.figures import Section

    found = []
    with region_stores("report", schools, postgres_url, no_postgres) as (_, plan_path, stores):
        for backend, url in stores:
            count = make_store(url, plan_path)
            r = measure(url, runs)
            s = Section(f"Quarterly report, {backend}: a region's plan",
                        f"{count:,} obligations ({schools:,} schools); Q3 2025: {r['due_q']:,} due, year to date "
                        f"{r['due_ytd']:,}; {r['orgs_q']:,} organisations; medians of {runs} runs. build_report "
                        "is the SQL part; each format end to end is build + render (what `nok report` spends).")
            s.add("build_report, Q3 / year to date", f"{r['build_q']:,.2f} / {r['build_ytd']:,.2f} s")
            for fmt, target in TARGETS.items():
                q, ytd = r["build_q"] + r[f"{fmt}_q"], r["build_ytd"] + r[f"{fmt}_ytd"]
                s.add(f"{fmt.upper()} end to end, Q3 / year to date ({r[f'{fmt}_q_kb']:,.0f} KB)",
                      f"{q:,.2f} / {ytd:,.2f} s", target=f"≤ {target:.0f} s", met=max(q, ytd) <= target)
            found.append(s)
    return found
