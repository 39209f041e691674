"""Calendar subscriptions: a named token per subscriber and scope (a plan, or one owner or
organisation in one plan or in all), 128 random bits shown once, stored as its SHA-256,
revocable. What a feed holds is services/read/calendar_feed.py."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.store.db import write_session
from nok_workflow.store.fresh import remembered
from nok_workflow.store.models import CalendarFeed, Party, Plan
from nok_workflow.tokens import digest

STAMP_TTL = 1.0  # seconds, as for a feed's change stamp (calendar_feed.py)
KIND_FLAG = {"owner": "--owner", "org": "--org"}


def _fail(flag: str, message: str) -> InputError:
    return InputError([Problem(flag, 0, 0, message)])


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/ical/{token}.ics"


def check_scope(session: Session, *, plan_id: str | None, owner: str | None, org: str | None) -> str | None:
    """The scope's party id (None for a whole plan); a clear refusal for a wrong one."""
    if owner and org:
        raise _fail("--owner", "укажите что-то одно: --owner (сотрудник или подразделение) или --org (организация)")
    if plan_id is not None and session.get(Plan, plan_id) is None:
        raise _fail("--plan", f"план «{plan_id}» не загружен (см. nok plan list)")
    party_id, kind = (owner, "owner") if owner else (org, "org") if org else (None, None)
    if party_id is None:
        if plan_id is None:
            raise _fail("--plan", "укажите, чей календарь: --plan <план>, --owner <исполнитель> или --org <организация>")
        return None
    query = select(Party).where(Party.id == party_id)
    if plan_id is not None:
        query = query.where(Party.plan_id == plan_id)
    parties = session.execute(query).scalars().all()
    where = f"в справочнике плана «{plan_id}»" if plan_id else "ни в одном загруженном плане"
    if not parties:
        raise _fail(KIND_FLAG[kind], f"«{party_id}» нет {where}")
    is_org = [p.kind == "organisation" for p in parties]
    if kind == "owner" and all(is_org):
        raise _fail("--owner", f"«{party_id}» — организация: её календарь — --org {party_id}")
    if kind == "org" and not any(is_org):
        raise _fail("--org", f"«{party_id}» — не организация, а исполнитель: его календарь — --owner {party_id}")
    return party_id


def resolve_scope(engine: Engine, *, plan_id: str | None, owner: str | None, org: str | None) -> str | None:
    """check_scope for a calendar written to a file (`nok feed ical`): no subscription made."""
    with Session(engine) as session:
        return check_scope(session, plan_id=plan_id, owner=owner, org=org)


def create(engine: Engine, *, name: str, plan_id: str | None, owner: str | None, org: str | None, by: str,
           now: dt.datetime) -> tuple[CalendarFeed, str]:
    """A new subscription and its token (returned once; only its hash is kept)."""
    if not name.strip():
        raise _fail("--name", "у подписки должно быть имя: где она открыта (напр. «телефон»)")
    with write_session(engine) as session:
        party_id = check_scope(session, plan_id=plan_id, owner=owner, org=org)
        token = secrets.token_urlsafe(16)  # 128 bits
        row = CalendarFeed(token_hash=digest(token), name=name.strip(), plan_id=plan_id, party_id=party_id,
                           created_by=by, created_at=now)
        session.add(row)
        session.flush()
        audit.record(session, actor=by, action="feed.create", plan_id=plan_id, at=now,
                     details={"id": row.id, "name": row.name, "party": party_id})
        session.refresh(row)
        session.expunge(row)
        return row, token


def replace(engine: Engine, *, plan_id: str, party_id: str | None, name: str, by: str,
            now: dt.datetime) -> str:
    """A new subscription made from a page (an executor's own, a coordinator's plan): the one
    made there before by the same person ends, so pressing the button again never piles up
    live addresses. Returns the new token."""
    with write_session(engine) as session:
        old = session.execute(select(CalendarFeed).where(
            CalendarFeed.plan_id == plan_id, CalendarFeed.party_id.is_(None) if party_id is None
            else CalendarFeed.party_id == party_id, CalendarFeed.name == name, CalendarFeed.created_by == by,
            CalendarFeed.revoked_at.is_(None))).scalars().all()
        for row in old:
            row.revoked_at = now
            session.add(row)
        token = secrets.token_urlsafe(16)
        row = CalendarFeed(token_hash=digest(token), name=name, plan_id=plan_id, party_id=party_id, created_by=by,
                           created_at=now)
        session.add(row)
        session.flush()
        audit.record(session, actor=by, action="feed.create", plan_id=plan_id, at=now,
                     details={"id": row.id, "name": name, "party": party_id, "replaces": [r.id for r in old]})
        return token


def listed(engine: Engine, plan_id: str | None = None) -> list[CalendarFeed]:
    query = select(CalendarFeed).order_by(CalendarFeed.id)
    if plan_id is not None:
        query = query.where(CalendarFeed.plan_id == plan_id)
    with Session(engine) as session:
        rows = list(session.execute(query).scalars())
        session.expunge_all()
        return rows


def revoke(engine: Engine, feed_id: int, *, by: str, now: dt.datetime) -> CalendarFeed:
    with write_session(engine) as session:
        row = session.get(CalendarFeed, feed_id)
        if row is None or row.revoked_at is not None:
            raise _fail("feed", f"действующей подписки №{feed_id} нет (nok feed list)")
        row.revoked_at = now
        session.add(row)
        audit.record(session, actor=by, action="feed.revoke", plan_id=row.plan_id, at=now,
                     details={"id": feed_id, "name": row.name, "party": row.party_id})
        session.flush()
        session.expunge(row)
        return row


def by_token(engine: Engine, token: str) -> CalendarFeed | None:
    """The live subscription a token opens, or None (unknown and revoked alike).

    Calendar clients ask every hour, many at once: the answer is reused like a feed's
    change stamp (store/fresh.py) — a revocation here counts at once, one made by another
    process within a second."""
    hashed = digest(token)

    def read() -> CalendarFeed | None:
        with Session(engine) as session:
            row = session.execute(select(CalendarFeed).where(CalendarFeed.token_hash == hashed,
                                                             CalendarFeed.revoked_at.is_(None))).scalar()
            if row is not None:
                session.expunge(row)
            return row

    return remembered(("feed-token", str(engine.url), hashed), STAMP_TTL, read)
