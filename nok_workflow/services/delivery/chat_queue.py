"""Messenger mails in the store: which chats a party's rows go to, the row copies that carry
them, a blocked bot's link undone, and how far a message of several parts got.

Every outbox row belongs to one mail (`Outbox.mail_id`). A row for a party with linked chats
is therefore copied once per chat at assembly (key «<row key>><channel>:<chat id>», its
`details["chat"]` the chat's address): each copy joins that chat's mail of the day, so a
messenger message is outbox rows and a mail like any e-mail — claimed, recorded, retried.
A party with `mail_off` and a linked chat gets no e-mail: its own row goes to the first chat.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from nok_workflow.store.models import AuditEvent, ChatLink, Mail, Outbox
from nok_workflow.text import CHANNEL_NAMES, MESSENGERS

CHANNELS = tuple(MESSENGERS)
NAMES = CHANNEL_NAMES
UNLINKED = "blocked"


def address(channel: str, chat_id: str) -> str:
    return f"{channel}:{chat_id}"


def channel_of(mail_address: str) -> str:
    head = mail_address.partition(":")[0]
    return head if head in CHANNELS and ":" in mail_address else "email"


def active_links(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """(plan, party) → the addresses of its linked chats, oldest link first."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    if not pairs:
        return found
    rows = conn.execute(select(ChatLink.plan_id, ChatLink.party_id, ChatLink.channel, ChatLink.chat_id)
                        .where(ChatLink.unlinked_at.is_(None),
                               tuple_(ChatLink.plan_id, ChatLink.party_id).in_(sorted(pairs)))
                        .order_by(ChatLink.id))
    for plan_id, party_id, channel, chat_id in rows:
        if channel in CHANNELS:
            found[(plan_id, party_id)].append(address(channel, chat_id))
    return found


def still_linked(conn: Connection, chats: set[str]) -> set[str]:
    """Of chat addresses, those with an active link (a copy queued before an unlink is not sent)."""
    if not chats:
        return set()
    wanted = [tuple(a.split(":", 1)) for a in chats]
    return {address(c, i) for c, i in conn.execute(
        select(ChatLink.channel, ChatLink.chat_id).where(
            ChatLink.unlinked_at.is_(None), tuple_(ChatLink.channel, ChatLink.chat_id).in_(wanted)))}


def copy_rows(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the chat copies (a key already there is kept); returns key → id of those still waiting."""
    if not rows:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(Outbox.__table__).on_conflict_do_nothing(index_elements=["key"]), rows)
    keys = [r["key"] for r in rows]
    return dict(conn.execute(select(Outbox.key, Outbox.id).where(
        Outbox.key.in_(keys), Outbox.mail_id.is_(None), Outbox.status == "queued")).all())


def copy_of(row: Any, chat: str, now: dt.datetime) -> dict[str, Any]:
    return {"key": f"{row.key}>{chat}"[:200], "plan_id": row.plan_id, "obligation_id": row.obligation_id,
            "kind": row.kind, "step": row.step, "recipient": row.recipient, "day": row.day, "created_at": now,
            "status": "queued", "attempts": 0, "next_attempt_at": now, "details": {**row.details, "chat": chat}}


def unlink_blocked(conn: Connection, mail_address: str, now: dt.datetime) -> int:
    """The person blocked the bot: every link of that chat ends, «blocked», with an audit event."""
    channel, _, chat_id = mail_address.partition(":")
    links = conn.execute(select(ChatLink.id, ChatLink.plan_id, ChatLink.party_id).where(
        ChatLink.channel == channel, ChatLink.chat_id == chat_id, ChatLink.unlinked_at.is_(None))).all()
    if not links:
        return 0
    conn.execute(update(ChatLink).where(ChatLink.id.in_([link.id for link in links]))
                 .values(unlinked_at=now, unlink_reason=UNLINKED))
    # The same event as commands/chat_links.blocked writes, in the transaction that records the 403.
    conn.execute(insert(AuditEvent), [
        {"at": now, "actor": mail_address, "action": "chat.unlink", "plan_id": link.plan_id,
         "details": {"party": link.party_id, "channel": channel, "chat": chat_id, "reason": UNLINKED}}
        for link in links])
    return len(links)


def blocked_reason(channel: str) -> str:
    return (f"{NAMES.get(channel, channel)}: получатель заблокировал бота — чат отключён; "
            "подключить его снова можно на личной странице")


def save_progress(conn: Connection, mail_id: int, token: str, done: int, response: str) -> None:
    """Written before the next part is sent: a crash then resends at most the part in flight."""
    conn.execute(update(Mail).where(Mail.id == mail_id, Mail.claim == token, Mail.status == "sending")
                 .values(parts_sent=done, smtp_response=response[:2000]))
