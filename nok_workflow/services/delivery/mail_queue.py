"""The day's mails in the store: queued rows assembled into one mail per person and day,
a batch claimed under a lease, each server answer recorded, the lease renewed or the claim
released. The sending itself is dispatch.py; what a mail says is letters.py."""

from __future__ import annotations

import datetime as dt
import secrets as random
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import Engine, bindparam, case, func, insert, or_, select, text, update
from sqlmodel import Session

from nok_workflow.clock import plan_time
from nok_workflow.services.delivery import chat_queue
from nok_workflow.services.delivery.letters import new_message_id
from nok_workflow.store.db import write_connection, write_session
from nok_workflow.store.models import Mail, Outbox, Party, Plan
from notifiers import Outcome

if TYPE_CHECKING:
    from nok_workflow.services.delivery.dispatch import DispatchReport


MAX_ATTEMPTS = 8  # answers from the server (4xx) before a mail is given up; silence does not count
_ASSEMBLY_LOCK = 0x6E6F6B6D  # "nokm"
LEASE = dt.timedelta(minutes=2)  # a claim nobody renewed for this long belongs to a dead dispatcher
UNREACHABLE_RETRY = dt.timedelta(minutes=1)
BATCH = 100  # mails claimed at a time
CHAT_GONE = "чат отключён — сообщение туда не отправляется"


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes, at most 6 hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


def assemble(engine: Engine, now: dt.datetime, mail_from: str = "", report: DispatchReport | None = None) -> int:
    """Attach queued rows to mails; rows for people without an address fail with the reason.
    Rows that wait for their plan's hour are counted in `report` (held, held_until)."""
    # Plain columns and statements run many times over (not ORM objects, one flush per row):
    # a region's day is thousands of rows.
    with write_connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Two dispatchers assembling at once would both create a person's mail of the day;
            # on SQLite the write lock already makes them take turns.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ASSEMBLY_LOCK})
        waiting = (Outbox.status == "queued") & Outbox.mail_id.is_(None)
        rows = conn.execute(select(Outbox.id, Outbox.key, Outbox.plan_id, Outbox.obligation_id, Outbox.kind,
                                   Outbox.step, Outbox.recipient, Outbox.day, Outbox.details, Party.email,
                                   Party.name, Party.mail_off, Plan.timezone, Plan.reminder_hour)
                            .join(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
                            .join(Plan, Plan.id == Outbox.plan_id)
                            .where(waiting).order_by(Outbox.id)).all()
        # the recipient is no longer in the plan's directory
        failures = [{"b_id": row_id, "why": f"получателя «{recipient}» нет в справочнике плана"}
                    for row_id, recipient in conn.execute(
                        select(Outbox.id, Outbox.recipient)
                        .outerjoin(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
                        .where(waiting, Party.id.is_(None)))]
        links = chat_queue.active_links(conn, {(row.plan_id, row.recipient) for row in rows
                                               if "chat" not in row.details})
        linked = chat_queue.still_linked(conn, {row.details["chat"] for row in rows if "chat" in row.details})
        wanted: dict[tuple[str, dt.date], str] = {}
        placed: list[tuple[int, tuple[str, dt.date]]] = []
        copies: list[tuple[dict, tuple[str, dt.date]]] = []  # a row's copy for each linked chat
        moved: list[dict] = []  # rows of «only in messengers» going to their first chat instead
        local_now: dict[str, dt.datetime] = {}
        for row in rows:
            chat = row.details.get("chat")
            chats = links.get((row.plan_id, row.recipient), []) if chat is None else []
            by_mail = chat is None and bool(row.email) and not (row.mail_off and chats)
            if chat is not None and chat not in linked:
                failures.append({"b_id": row.id, "why": f"чат {chat_queue.NAMES[chat_queue.channel_of(chat)]} "
                                                        "отключён до отправки"})
                continue
            if chat is None and not by_mail and not chats:
                failures.append({"b_id": row.id, "why": f"у «{row.name}» нет адреса электронной почты"})
                continue
            local = local_now.get(row.timezone)
            if local is None:
                local = local_now[row.timezone] = plan_time(now, row.timezone)  # its .date() is the plan's day
            if row.day >= local.date() and local.hour < row.reminder_hour:
                # Before the plan's hour: wait for the day's run, so it is one digest.
                if report is not None:
                    at = local.replace(hour=row.reminder_hour, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
                    report.held += 1
                    report.held_until = min(report.held_until or at, at)
                continue
            day = max(row.day, local.date())
            if chat is None and not by_mail:  # only in messengers: this row is the first chat's
                chat, chats = chats[0], chats[1:]
                moved.append({"b_id": row.id, "details": {**row.details, "chat": chat}})
            for other in chats:
                copies.append((chat_queue.copy_of(row, other, now), (other, day)))
                wanted.setdefault((other, day), row.name)
            key = (chat if chat is not None else row.email.strip().lower(), day)
            wanted.setdefault(key, row.name)
            placed.append((row.id, key))
        if moved:
            conn.execute(update(Outbox).where(Outbox.id == bindparam("b_id"))
                         .values(details=bindparam("details")), moved)
        copied = chat_queue.copy_rows(conn, [c for c, _ in copies])
        placed += [(copied[c["key"]], key) for c, key in copies if c["key"] in copied]
        if failures:
            conn.execute(update(Outbox).where(Outbox.id == bindparam("b_id"))
                         .values(status="failed", last_error=bindparam("why")), failures)
        if not wanted:
            return 0

        def existing() -> dict[tuple[str, dt.date], tuple[int, bool]]:
            # open: still takes rows — not gone, and no part of a messenger's message sent yet
            # (a resend goes on from the next part, so what is in the parts sent stays put)
            return {(address, day): (mail_id, status in ("pending", "retry") and not parts_sent)
                    for mail_id, address, day, status, parts_sent in conn.execute(
                select(Mail.id, Mail.address, Mail.day, Mail.status, Mail.parts_sent).where(
                    Mail.address.in_({a for a, _ in wanted}), Mail.day.in_({d for _, d in wanted})))}

        # All of this round's mails in three statements, not two per person.
        mails = existing()
        fresh = [{"address": a, "channel": chat_queue.channel_of(a), "name": n, "day": d, "status": "pending",
                  "attempts": 0, "next_attempt_at": now, "created_at": now, "message_id": new_message_id(mail_from)}
                 for (a, d), n in wanted.items() if (a, d) not in mails]
        if fresh:
            conn.execute(insert(Mail), fresh)
            mails = existing()
        # today's mail to this person may be gone already: tomorrow's will carry the row
        attach = [{"b_id": row_id, "mail": mails[key][0]} for row_id, key in placed if mails[key][1]]
        if attach:
            conn.execute(update(Outbox).where(Outbox.id == bindparam("b_id")).values(mail_id=bindparam("mail")),
                         attach)
        return len(attach)


def claim(engine: Engine, now: dt.datetime, limit: int = BATCH, mail_from: str = "",
          channels: tuple[str, ...] | None = None) -> tuple[str, list[int]]:
    """Claim ready mails; `channels`: only those of these channels (a messenger without a
    token, or whose API went silent in this run, keeps its mails waiting)."""
    token = random.token_hex(8)
    ready = or_(Mail.status.in_(("pending", "retry")) & (Mail.next_attempt_at <= now),
                (Mail.status == "sending") & (Mail.claimed_at < now - LEASE))
    if channels is not None:
        ready = ready & Mail.channel.in_(channels)
    with write_session(engine) as session:
        query = select(Mail.id, Mail.message_id, Mail.channel, Mail.address).where(ready).order_by(Mail.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        # A chat unlinked since its mail was made (blocked, /stop, «отключить»): the mail is not
        # sent there — also when someone retries it by hand.
        chats = {r.address for r in rows if r.channel != "email"}
        gone = chats - chat_queue.still_linked(session.connection(), chats)
        if gone:
            dropped = [r.id for r in rows if r.address in gone]
            session.execute(update(Mail).where(Mail.id.in_(dropped)).values(status="failed", error=CHAT_GONE))
            session.execute(update(Outbox).where(Outbox.mail_id.in_(dropped))
                            .values(status="failed", sent_at=None, last_error=CHAT_GONE))
        rows = [(r.id, r.message_id) for r in rows if r.address not in gone]
        ids = [mail_id for mail_id, _ in rows]
        if ids:
            session.execute(update(Mail).where(Mail.id.in_(ids))
                            .values(status="sending", claim=token, claimed_at=now, attempts=Mail.attempts + 1))
            for mail_id, message_id in rows:
                if message_id is None:  # a mail assembled before Message-IDs were stored
                    session.execute(update(Mail).where(Mail.id == mail_id)
                                    .values(message_id=new_message_id(mail_from)))
    return token, ids


# `record` runs once per server answer or two: its statements are built once.
_HELD = (select(Mail.id, Mail.attempts, Mail.subject, Mail.smtp_response, Mail.next_attempt_at, Mail.address,
                Mail.channel)
         .where(Mail.id.in_(bindparam("ids", expanding=True)), Mail.claim == bindparam("token"),
                Mail.status == "sending"))
_CHANGE = update(Mail).where(Mail.id == bindparam("b_id"))
_ROWS_SENT = (update(Outbox).where(Outbox.mail_id.in_(bindparam("ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("now"), last_error=None))


def record(engine: Engine, token: str, results: list[tuple[int, Outcome, str | None]],
           now: dt.datetime) -> dict[str, int]:
    """Write outcomes in one transaction; returns counts by new status."""
    counts: dict[str, int] = defaultdict(int)
    with write_connection(engine) as conn:
        held = {row.id: row for row in conn.execute(
            _HELD, {"ids": [mail_id for mail_id, _, _ in results], "token": token})}
        changes, sent, failed = [], [], []
        for mail_id, outcome, subject in results:
            mail = held.get(mail_id)
            if mail is None:
                counts["stale"] += 1  # another dispatcher took it over after our lease ran out
                continue
            change = {"b_id": mail_id, "status": "retry", "subject": subject or mail.subject,
                      "smtp_response": mail.smtp_response, "sent_at": None, "error": outcome.response,
                      "attempts": mail.attempts, "next_attempt_at": mail.next_attempt_at}
            if outcome.delivered:
                change |= {"status": "sent", "smtp_response": outcome.response, "sent_at": now, "error": None}
                sent.append(mail_id)
            elif not outcome.reached:
                # Silence is the server's fault, not the mail's: no attempt spent, tried again soon.
                change |= {"attempts": mail.attempts - 1, "next_attempt_at": now + UNREACHABLE_RETRY}
            elif outcome.retry_after is not None and not outcome.blocked:
                # A messenger's 429: the wait it asked for, no attempt spent.
                change |= {"attempts": mail.attempts - 1,
                           "next_attempt_at": now + dt.timedelta(seconds=max(outcome.retry_after, 1.0))}
            elif outcome.blocked:
                chat_queue.unlink_blocked(conn, mail.address, now)
                why = chat_queue.blocked_reason(mail.channel)
                change |= {"status": "failed", "error": why}
                failed.append((mail_id, why))
            elif outcome.permanent or mail.attempts >= MAX_ATTEMPTS:
                change["status"] = "failed"
                failed.append((mail_id, outcome.response))
            else:
                change["next_attempt_at"] = now + backoff(mail.attempts)
            changes.append(change)
            counts[change["status"]] += 1
        if changes:
            conn.execute(_CHANGE, changes)
        if sent:
            conn.execute(_ROWS_SENT, {"ids": sent, "now": now})
        for mail_id, why in failed:
            conn.execute(update(Outbox).where(Outbox.mail_id == mail_id)
                         .values(status="failed", sent_at=None, last_error=why))
    return counts


def renew(engine: Engine, token: str, ids: list[int], now: dt.datetime) -> None:
    """Extend the lease of the mails this dispatcher still holds."""
    if ids:
        with write_session(engine) as session:
            session.execute(update(Mail).where(Mail.id.in_(ids), Mail.claim == token, Mail.status == "sending")
                            .values(claimed_at=now))


def release(engine: Engine, token: str, ids: list[int]) -> int:
    """Give back claimed mails that were never tried: queued as before, the attempt refunded."""
    if not ids:
        return 0
    with write_session(engine) as session:
        return session.execute(
            update(Mail).where(Mail.id.in_(ids), Mail.claim == token, Mail.status == "sending")
            .values(status=case((Mail.attempts > 1, "retry"), else_="pending"), attempts=Mail.attempts - 1,
                    claim=None, claimed_at=None)).rowcount


def ready_count(engine: Engine, now: dt.datetime) -> int:
    ready = or_(Mail.status.in_(("pending", "retry")) & (Mail.next_attempt_at <= now),
                (Mail.status == "sending") & (Mail.claimed_at < now - LEASE))
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Mail).where(ready)).scalar_one()


def still_held(engine: Engine, token: str, ids: list[int], now: dt.datetime) -> set[int]:
    """Of mails claimed ahead, those still ours (lease renewed now): one whose lease ran
    out while it waited may be another dispatcher's by now, and is not sent twice."""
    renew(engine, token, ids, now)
    with Session(engine) as session:
        return set(session.execute(select(Mail.id).where(Mail.id.in_(ids), Mail.claim == token,
                                                         Mail.status == "sending")).scalars())


def waiting_count(engine: Engine, channel: str | None = None) -> int:
    query = select(func.count()).select_from(Mail).where(Mail.status.in_(("pending", "retry", "sending")))
    if channel is not None:
        query = query.where(Mail.channel == channel)
    with Session(engine) as session:
        return session.execute(query).scalar_one()
