"""Delivering the outbox: daily digests per person, claimed, sent, recorded.

1. `assemble`: queued outbox rows join their person's mail of the day (one mail per address
   and day — a unique key); rows queued after today's mail went out wait for tomorrow's.
2. `claim`: a dispatcher takes ready mails for itself (FOR UPDATE SKIP LOCKED on
   PostgreSQL, the write lock on SQLite), so two dispatchers never send the same mail. A
   mail still "sending" after the lease (its dispatcher died) is taken again.
3. deliver through a Notifier, then `record` the answer. A crash between the server's
   answer and the record means one resend — never a loss; both copies carry the same
   Message-ID.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets as random
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from sqlalchemy import Engine, or_, select, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.ical import Deadline, calendar_bytes
from nok_workflow.services.digest import Entry, digest_context
from nok_workflow.settings import Settings
from nok_workflow.store.db import write_session
from nok_workflow.store.models import (
    Item,
    Mail,
    Obligation,
    Outbox,
    Party,
    Plan,
)
from nok_workflow.tokens import secret, upload_link
from notifiers import Attachment, Message, Notifier, Outcome
from notifiers.render import render_digest

MAX_ATTEMPTS = 8
_ASSEMBLY_LOCK = 0x6E6F6B6D  # "nokm"
LEASE = dt.timedelta(minutes=10)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes, at most 6 hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


@dataclass
class DispatchReport:
    assembled: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def assemble(engine: Engine, now: dt.datetime) -> int:
    """Attach queued rows to mails; rows for people without an address fail with the reason."""
    with write_session(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Two dispatchers assembling at once would both create a person's mail of the day;
            # on SQLite the write lock already makes them take turns.
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ASSEMBLY_LOCK})
        rows = session.execute(select(Outbox, Party.email, Party.name, Plan.timezone, Plan.reminder_hour)
                               .join(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
                               .join(Plan, Plan.id == Outbox.plan_id)
                               .where(Outbox.status == "queued", Outbox.mail_id.is_(None))).all()
        orphans = session.execute(
            select(Outbox).outerjoin(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
            .where(Outbox.status == "queued", Outbox.mail_id.is_(None), Party.id.is_(None))).scalars().all()
        for row in orphans:  # the recipient is no longer in the plan's directory
            row.status, row.last_error = "failed", f"получателя «{row.recipient}» нет в справочнике плана"
        wanted: dict[tuple[str, dt.date], str] = {}
        placed = []
        for row, email, name, timezone, hour in rows:
            if not email:
                row.status, row.last_error = "failed", f"у «{name}» нет адреса электронной почты"
                continue
            local = now.astimezone(ZoneInfo(timezone))
            if row.day >= local.date() and local.hour < hour:
                continue  # before the plan's hour: wait for the day's run, so it is one digest
            key = (email.strip().lower(), max(row.day, local.date()))
            wanted.setdefault(key, name)
            placed.append((row, key))
        # All of this round's mails in two statements, not two per person.
        mails = {(m.address, m.day): m for m in session.execute(select(Mail).where(
            Mail.address.in_({a for a, _ in wanted}), Mail.day.in_({d for _, d in wanted}))).scalars()}
        fresh = [Mail(address=a, name=n, day=d, next_attempt_at=now, created_at=now)
                 for (a, d), n in wanted.items() if (a, d) not in mails]
        session.add_all(fresh)
        session.flush()
        mails |= {(m.address, m.day): m for m in fresh}
        attached = 0
        for row, key in placed:
            mail = mails[key]
            if mail.status not in ("pending", "retry"):
                continue  # today's mail to this person is gone: tomorrow's will carry it
            row.mail_id = mail.id
            attached += 1
        return attached


def claim(engine: Engine, now: dt.datetime, limit: int = 500) -> tuple[str, list[int]]:
    token = random.token_hex(8)
    ready = or_(Mail.status.in_(("pending", "retry")) & (Mail.next_attempt_at <= now),
                (Mail.status == "sending") & (Mail.claimed_at < now - LEASE))
    with write_session(engine) as session:
        query = select(Mail.id).where(ready).order_by(Mail.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.execute(query).scalars())
        if ids:
            session.execute(update(Mail).where(Mail.id.in_(ids))
                            .values(status="sending", claim=token, claimed_at=now, attempts=Mail.attempts + 1))
    return token, ids


def _entries(session: Session, mail_ids: list[int], settings: Settings, key: bytes) -> dict[int, list[Entry]]:
    """What each mail lists, for all the claimed mails in one query (not one per row)."""
    org = aliased(Party)
    rows = session.execute(
        select(Outbox, Obligation, Item, Plan.title, org.name)
        .join(Plan, Plan.id == Outbox.plan_id)
        .outerjoin(Obligation, Obligation.id == Outbox.obligation_id)
        .outerjoin(Item, Item.id == Obligation.item_id)
        .outerjoin(org, (org.plan_id == Outbox.plan_id) & (org.id == Obligation.org_id))
        .where(Outbox.mail_id.in_(mail_ids)).order_by(Outbox.id)
    ).all()
    entries: dict[int, list[Entry]] = defaultdict(list)
    for row, ob, item, plan_title, org_name in rows:
        owners = obligation_owners(ob.org_id, item.owners) if ob else []
        linked = row.kind == "rejected" or (row.kind in ("reminder", "escalation") and row.recipient in owners)
        entries[row.mail_id].append(Entry(
            kind=row.kind, step=row.step, plan=plan_title, obligation=row.obligation_id,
            key=item.key if item else row.details.get("item"),
            title=item.title if item and row.kind != "plan_changed" else row.details.get("title"),
            period=ob.period if ob else None, org=org_name,
            documents="; ".join(item.results) if item and item.results else None,
            due=ob.due if ob else None, owner=row.recipient in owners, reason=row.details.get("reason"),
            new=bool(row.details.get("new")),
            link=upload_link(settings.base_url, key, row.plan_id, row.recipient) if linked else None,
        ))
    return entries


def build(mail: Mail, entries: list[Entry], now: dt.datetime) -> Message:
    context = digest_context(mail.name, mail.day, entries)
    deadlines = [Deadline(uid=f"nok-ob-{e.obligation}@nok-workflow", day=e.due, summary=f"{e.key} {e.title}",
                          description=f"{e.plan}. Нужен документ: {e.documents or '—'}", url=e.link)
                 for e in entries if e.kind == "reminder" and e.new and e.due and e.obligation]
    attachments = (Attachment("sroki.ics", "text/calendar", calendar_bytes(deadlines, now)),) if deadlines else ()
    return render_digest(context, to_address=mail.address, message_id=f"<nok-mail-{mail.id}@nok-workflow>",
                         attachments=attachments)


def record(engine: Engine, token: str, results: list[tuple[int, Outcome, str | None]],
           now: dt.datetime) -> dict[str, int]:
    """Write the outcomes of a batch in one transaction; returns counts by new status."""
    counts: dict[str, int] = defaultdict(int)
    sent: list[int] = []
    with write_session(engine) as session:
        mails = {m.id: m for m in session.execute(
            select(Mail).where(Mail.id.in_([mail_id for mail_id, _, _ in results]))).scalars()}
        for mail_id, outcome, subject in results:
            mail = mails.get(mail_id)
            if mail is None or mail.claim != token:
                counts["stale"] += 1  # another dispatcher took it over after our lease ran out
                continue
            mail.subject = subject or mail.subject
            if outcome.delivered:
                mail.status, mail.smtp_response, mail.sent_at, mail.error = "sent", outcome.response, now, None
            elif outcome.permanent or mail.attempts >= MAX_ATTEMPTS:
                mail.status, mail.error = "failed", outcome.response
            else:
                mail.status, mail.error = "retry", outcome.response
                mail.next_attempt_at = now + backoff(mail.attempts)
            if mail.status == "sent":
                sent.append(mail.id)
            elif mail.status == "failed":
                session.execute(update(Outbox).where(Outbox.mail_id == mail.id).values(
                    status="failed", sent_at=None, last_error=outcome.response))
            counts[mail.status] += 1
        if sent:
            session.execute(update(Outbox).where(Outbox.mail_id.in_(sent))
                            .values(status="sent", sent_at=now, last_error=None))
    return counts


def dispatch(engine: Engine, notifier: Notifier, settings: Settings, now: dt.datetime) -> DispatchReport:
    report = DispatchReport(assembled=assemble(engine, now))
    key = secret(settings.home)
    while True:  # batches of claimed mails until none is ready
        token, ids = claim(engine, now)
        if not ids:
            return report
        results: list[tuple[int, Outcome, str | None]] = []
        messages: list[tuple[int, Message]] = []
        with Session(engine) as session:
            mails = session.execute(select(Mail).where(Mail.id.in_(ids)).order_by(Mail.id)).scalars().all()
            entries = _entries(session, ids, settings, key)
            for mail in mails:
                try:
                    messages.append((mail.id, build(mail, entries[mail.id], now)))
                except (TemplateError, KeyError, ValueError) as exc:  # a broken template fails this mail only
                    why = f"ошибка шаблона письма: {exc}"
                    results.append((mail.id, Outcome.fail(why), None))
                    report.errors.append(f"{mail.address}: {why}")
        outcomes = asyncio.run(notifier.deliver([m for _, m in messages])) if messages else []
        for (mail_id, message), outcome in zip(messages, outcomes, strict=True):
            results.append((mail_id, outcome, message.subject))
            if not outcome.delivered:
                report.errors.append(f"{message.to_address}: {outcome.response}")
        counts = record(engine, token, results, now)
        report.sent += counts["sent"]
        report.retry += counts["retry"]
        report.failed += counts["failed"]
