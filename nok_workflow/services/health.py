"""How outside services answered last time (the SMTP server): what `nok status` warns about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.store.db import write_session
from nok_workflow.store.models import ServiceHealth


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
