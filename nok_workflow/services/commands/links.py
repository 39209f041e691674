"""Personal upload links: which are valid (scope, revision, expiry) and revoking them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.store.db import write_session
from nok_workflow.store.models import LinkRevision, Obligation, Party, Plan
from nok_workflow.tokens import upload_link, upload_token_valid


def revision(session: Session, plan_id: str, party_id: str) -> int:
    row = session.get(LinkRevision, (plan_id, party_id))
    return row.revision if row else 0


def link_for(session: Session, base_url: str, key: bytes, plan_id: str, party_id: str) -> str:
    return upload_link(base_url, key, plan_id, party_id, revision(session, plan_id, party_id))


def expires_on(session: Session, plan: Plan, grace_days: int) -> dt.date | None:
    """The last day a plan's links work: the end of its period plus the grace time (a plan
    loaded before the period was stored: its last due date)."""
    end = plan.period_end or session.execute(
        select(func.max(Obligation.due)).where(Obligation.plan_id == plan.id)).scalar()
    return end + dt.timedelta(days=grace_days) if end else None


def holder(engine: Engine, key: bytes, *, plan_id: str, party_id: str, token: str, today: dt.date,
           grace_days: int) -> tuple[Plan, Party] | None:
    """The plan and party a link belongs to, or None for an unknown, forged, revoked or
    expired one — the caller answers all of them alike, so a guess learns nothing."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        party = session.get(Party, (plan_id, party_id)) if plan else None
        rev = revision(session, plan_id, party_id)
        # Checked even when nothing was found, so the answer's time does not tell either.
        valid = upload_token_valid(_key_or_dummy(key), plan_id, party_id, rev, token)
        if plan is None or party is None or not party.active or not valid:
            return None
        last = expires_on(session, plan, grace_days)
        if last is not None and today > last:
            return None
        session.expunge_all()
        return plan, party


def _key_or_dummy(key: bytes) -> bytes:
    return key or b"\0" * 32


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
