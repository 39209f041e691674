"""What a plan's deployment needs from the store: its local reminder hour and timezone."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.store.models import Plan


def plan_schedule(engine: Engine, plan_id: str) -> tuple[int, str]:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
        return plan.reminder_hour, plan.timezone
