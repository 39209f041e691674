"""A region's store: the benchmark's region plan with hundreds of schools, swept, its mail
assembled — what the delivery tests send."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from benchmarks.region import region_plan
from nok_workflow.services.delivery import mail_queue
from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.store.models import Mail

REGION = "region-2025"
DAY = dt.datetime(2025, 3, 28, 4, tzinfo=dt.UTC)  # 09:00 in the plan's zone: every school has a reminder


def region_store(engine, tmp_path: Path, schools: int = 500) -> int:
    """A region of `schools` schools swept on DAY: one digest per school (and two more) ready."""
    path = tmp_path / "region.yaml"
    path.write_text(region_plan(schools, items=2), encoding="utf-8")
    plans.load(engine, path, actor=None, now=DAY - dt.timedelta(days=1))
    plan_run.steps(engine, REGION, DAY)
    mail_queue.assemble(engine, DAY, "nok@example.org")
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Mail)).scalar_one()
