"""The audit log: who did what, when — every load, amendment, submission, review, waiver."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.store.models import AuditEvent


def record(session: Session, *, actor: str, action: str, plan_id: str | None, at: dt.datetime,
           details: dict[str, Any]) -> None:
    session.add(AuditEvent(at=at, actor=actor, action=action, plan_id=plan_id, details=details))


def events(engine: Engine, *, plan_id: str | None = None, since: dt.datetime | None = None,
           limit: int = 1000) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id).limit(limit)
    if plan_id:
        query = query.where(AuditEvent.plan_id == plan_id)
    if since:
        query = query.where(AuditEvent.at >= since)
    with Session(engine) as session:
        return list(session.execute(query).scalars())
