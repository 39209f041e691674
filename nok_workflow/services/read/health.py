"""How outside services answered last time (the SMTP server), and how each plan's last
scheduled run went: what `nok status` and the plan's page warn about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.store.db import write_session
from nok_workflow.store.models import Plan, ServiceHealth


def save(engine: Engine, name: str, problem: str | None, now: dt.datetime) -> None:
    """Record the verdict of a run that tried the service: `problem` None means it answered."""
    with write_session(engine) as session:
        row = session.get(ServiceHealth, name)
        if row is None:
            row = ServiceHealth(name=name, since=now, checked_at=now)
            session.add(row)
        elif row.ok != (problem is None):
            row.since = now
        row.ok, row.message, row.checked_at = problem is None, problem, now


def problems(engine: Engine) -> list[ServiceHealth]:
    """Services whose last answer was a failure."""
    with Session(engine) as session:
        return list(session.execute(select(ServiceHealth).where(ServiceHealth.ok.is_(False))).scalars())


def save_run(engine: Engine, plan_id: str, problem: str | None, now: dt.datetime) -> None:
    """Record how the plan's scheduled run went: `problem` (it failed or never started) is kept
    on the plan until a run goes through. A run like the last one writes nothing."""
    with Session(engine) as session:
        known = session.execute(select(Plan.run_problem).where(Plan.id == plan_id)).first()
    if known is None or (known.run_problem is None and problem is None):
        return  # the plan was dropped meanwhile, or nothing to say
    with write_session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            return
        if problem is None:
            plan.run_problem, plan.run_problem_since = None, None
        else:
            if plan.run_problem is None:
                plan.run_problem_since = now
            plan.run_problem = problem


def run_problems(engine: Engine, plan_id: str | None = None) -> list[tuple[str, str, dt.datetime]]:
    """(plan, problem, since) of the plans whose last scheduled run failed or never ran."""
    query = select(Plan.id, Plan.run_problem, Plan.run_problem_since).where(Plan.run_problem.is_not(None))
    if plan_id is not None:
        query = query.where(Plan.id == plan_id)
    with Session(engine) as session:
        return [tuple(row) for row in session.execute(query.order_by(Plan.id))]
