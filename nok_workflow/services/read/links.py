"""Personal upload links: how they are written and which are valid (scope, revision, expiry).
Revoking one is services/commands/links.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select
from sqlmodel import Session

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
