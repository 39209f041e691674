"""Revoking a personal upload link: the party's next digest carries a new one. Which links
are valid is services/read/links.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.store.db import write_session
from nok_workflow.store.models import LinkRevision, Party, Plan


def revoke(engine: Engine, *, plan_id: str, party_id: str, by: str, now: dt.datetime) -> int:
    """The party's current link stops working; its next digest carries the new one."""
    with write_session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("--plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
        if session.get(Party, (plan_id, party_id)) is None:
            raise InputError([Problem("--party", 0, 0, f"«{party_id}» нет в справочнике плана «{plan_id}»")])
        row = session.get(LinkRevision, (plan_id, party_id)) or LinkRevision(plan_id=plan_id, party_id=party_id)
        row.revision += 1
        row.revoked_at = now
        session.add(row)
        audit.record(session, actor=by, action="link.revoke", plan_id=plan_id, at=now,
                     details={"party": party_id, "revision": row.revision})
        return row.revision
