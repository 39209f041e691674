"""The outbox: messages queued as rows with unique keys, and what `nok outbox` shows of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Mail, Outbox


def queue(session: Session, messages: list[dict[str, Any]]) -> int:
    """Insert outbox rows; a key already there is skipped (ON CONFLICT DO NOTHING)."""
    if not messages:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The rows inserted, counted by RETURNING: an executemany's rowcount is not reliable
    # (psycopg reports 0 for a batch, so every step said «в очередь 0» on PostgreSQL).
    table = Outbox.__table__
    result = session.connection().execute(
        insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id), messages)
    return len(result.all())


def queue_event(session: Session, *, key: str, plan_id: str, kind: str, recipient: str, day: dt.date,
                now: dt.datetime, details: dict[str, Any], obligation_id: int | None = None) -> int:
    """One message about an event (a rejection, a plan change), once per key."""
    return queue(session, [{"key": key, "plan_id": plan_id, "obligation_id": obligation_id, "kind": kind,
                            "step": 0, "recipient": recipient, "day": day, "created_at": now,
                            "status": "queued", "attempts": 0, "next_attempt_at": now, "details": details}])


def _mail_json(mail: Mail, rows: int) -> dict[str, Any]:
    return {"id": mail.id, "channel": mail.channel, "address": mail.address, "name": mail.name,
            "day": mail.day.isoformat(),
            "status": mail.status, "attempts": mail.attempts, "subject": mail.subject, "items": rows,
            "response": mail.smtp_response, "error": mail.error,
            "next_attempt_at": mail.next_attempt_at.isoformat() if mail.next_attempt_at else None,
            "sent_at": mail.sent_at.isoformat() if mail.sent_at else None}


def list_mail(engine: Engine, status: str | None = None, limit: int = 100,
              offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of mails, newest day first, and how many there are in all."""
    counts = select(Outbox.mail_id, func.count().label("n")).group_by(Outbox.mail_id).subquery()
    query = (select(Mail, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.mail_id == Mail.id)
             .order_by(Mail.day.desc(), Mail.id.desc()).limit(limit).offset(offset))
    total = select(func.count()).select_from(Mail)
    if status:
        query, total = query.where(Mail.status == status), total.where(Mail.status == status)
    with Session(engine) as session:
        return ([_mail_json(mail, n) for mail, n in session.execute(query)],
                session.execute(total).scalar_one())


def undeliverable(engine: Engine) -> list[dict[str, Any]]:
    """Rows that will never go out on their own: failed mails and rows (no address…)."""
    with Session(engine) as session:
        rows = session.execute(select(Outbox).where(Outbox.status == "failed").order_by(Outbox.id)).scalars()
        return [{"id": r.id, "plan": r.plan_id, "recipient": r.recipient, "kind": r.kind,
                 "item": r.details.get("item"), "error": r.last_error} for r in rows]


def show(engine: Engine, mail_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        mail = session.get(Mail, mail_id)
        if mail is None:
            raise InputError([Problem("outbox", 0, 0, f"письма №{mail_id} нет")])
        rows = session.execute(select(Outbox).where(Outbox.mail_id == mail_id).order_by(Outbox.id)).scalars().all()
        data = _mail_json(mail, len(rows))
        data["rows"] = [{"key": r.key, "kind": r.kind, "step": r.step, "plan": r.plan_id, "recipient": r.recipient,
                         "item": r.details.get("item"), "status": r.status} for r in rows]
        return data


def retry(engine: Engine, mail_id: int | None, now: dt.datetime) -> int:
    """Send failed mails again (all, or one); failed rows without a mail are queued again."""
    with write_session(engine) as session:
        if mail_id is not None and session.get(Mail, mail_id) is None:
            raise InputError([Problem("outbox", 0, 0, f"письма №{mail_id} нет")])
        query = update(Mail).where(Mail.status == "failed")
        if mail_id is not None:
            query = query.where(Mail.id == mail_id)
        changed = session.execute(query.values(status="retry", attempts=0, next_attempt_at=now)).rowcount
        if mail_id is None:
            changed += session.execute(update(Outbox).where(Outbox.status == "failed", Outbox.mail_id.is_(None))
                                       .values(status="queued", last_error=None)).rowcount
        session.execute(update(Outbox).where(Outbox.status == "failed", Outbox.mail_id.is_not(None),
                                             Outbox.mail_id.in_(select(Mail.id).where(Mail.status == "retry")))
                        .values(status="queued"))
        return changed
