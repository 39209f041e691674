"""Linking a messenger chat to a party of a plan: a one-time start token from the personal page
(valid 30 minutes, only its SHA-256 kept), «/start <token>» in the chat links it, «/stop» there
or «отключить» on the page unlinks; a send answered «blocked» unlinks too (`blocked`). And a
party's «only in the messengers» (`Party.mail_off`). What the page shows is
services/read/chat_links.py; who polls the bots is runtime/bot_polling.py."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select

from nok_workflow.services.commands import audit
from nok_workflow.services.delivery import chat_queue
from nok_workflow.store.db import write_connection, write_session
from nok_workflow.store.models import ChatLink, ChatStart, Party, Plan
from nok_workflow.tokens import digest
from nok_workflow.text import MESSENGERS

CHANNELS = MESSENGERS
START_TTL = dt.timedelta(minutes=30)
KEEP_USED = dt.timedelta(days=7)  # start tokens older than this are deleted when a new one is made

LINKED = ("Готово: напоминания по плану «{plan}» для «{party}» будут приходить сюда. "
          "Отключить — /stop или на вашей странице.")
REFUSED = "Ссылка устарела или уже использована — откройте свою страницу и нажмите кнопку ещё раз."
STOPPED = "Напоминания сюда больше не придут ({what}). Подключить снова — кнопка на вашей странице."
NOTHING_TO_STOP = "Этот чат ни к чему не подключён. Подключить — кнопка на вашей личной странице."
HELP = ("Этот бот присылает напоминания о сроках по планам НОК. Подключить чат — кнопка "
        "«Получать напоминания» на вашей личной странице (ссылка — в письме-сводке); отключить — /stop.")


@dataclass(frozen=True)
class Handled:
    """What a message to the bot did: the reply to send, and whether the store changed."""

    reply: str
    changed: bool = False


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"неизвестный мессенджер «{channel}»")


def issue_start(engine: Engine, *, plan_id: str, party_id: str, channel: str, now: dt.datetime) -> str:
    """A new one-time start token (returned once; only its hash is stored). Earlier unused tokens
    of the same party and channel end: pressing the button again never leaves two live links."""
    _check_channel(channel)
    token = secrets.token_urlsafe(16)  # 128 bits, 22 characters of [A-Za-z0-9_-]: a valid deep-link parameter
    with write_session(engine) as session:
        earlier = session.execute(select(ChatStart).where(
            ChatStart.plan_id == plan_id, ChatStart.party_id == party_id, ChatStart.channel == channel,
            ChatStart.used_at.is_(None))).scalars().all()
        for row in earlier:
            row.expires_at = min(_aware(row.expires_at), now)
            session.add(row)
        stale = session.execute(select(ChatStart).where(ChatStart.created_at < now - KEEP_USED)).scalars().all()
        for row in stale:
            session.delete(row)
        session.add(ChatStart(token_hash=digest(token), plan_id=plan_id, party_id=party_id, channel=channel,
                              created_at=now, expires_at=now + START_TTL))
    return token


def handle(engine: Engine, channel: str, chat_id: str, text: str, start: str | None, *,
           now: dt.datetime) -> Handled:
    """A message in a chat with the bot: «/start <token>» links, «/stop» unlinks, anything else
    gets a short help. Idempotent: the same message handled twice changes nothing the second time."""
    _check_channel(channel)
    if start is not None:
        return link(engine, channel, chat_id, start, now=now)
    command = text.strip().split(" ", 1)[0].split("@", 1)[0].lower()
    if command == "/stop":
        return stop(engine, channel, chat_id, now=now)
    return Handled(HELP)


def link(engine: Engine, channel: str, chat_id: str, token: str, *, now: dt.datetime) -> Handled:
    """Links the chat to the party the token was issued for, and uses the token up. A used,
    expired, forged or other channel's token links nothing and gets the same polite refusal."""
    with write_session(engine) as session:
        row = session.get(ChatStart, digest(token)) if token else None
        if row is None or row.channel != channel:
            return Handled(REFUSED)
        plan = session.get(Plan, row.plan_id)
        party = session.get(Party, (row.plan_id, row.party_id))
        live = session.execute(select(ChatLink).where(
            ChatLink.plan_id == row.plan_id, ChatLink.party_id == row.party_id, ChatLink.channel == channel,
            ChatLink.chat_id == chat_id, ChatLink.unlinked_at.is_(None))).scalar()
        if row.used_at is not None and live is not None:
            # The same /start handled again (the poller crashed before storing its offset): this
            # chat is linked to that party — the same answer, nothing linked twice.
            return Handled(LINKED.format(plan=plan.title, party=party.name))
        if row.used_at is not None or _aware(row.expires_at) <= now or plan is None or party is None \
                or not party.active:
            return Handled(REFUSED)
        row.used_at = now
        session.add(row)
        if live is None:  # else: linked already from this chat (with an earlier token)
            session.add(ChatLink(plan_id=row.plan_id, party_id=row.party_id, channel=channel, chat_id=chat_id,
                                 linked_at=now))
            audit.record(session, actor=row.party_id, action="chat.link", plan_id=row.plan_id, at=now,
                         details={"party": row.party_id, "channel": channel, "chat": chat_id})
        return Handled(LINKED.format(plan=plan.title, party=party.name), changed=True)


def stop(engine: Engine, channel: str, chat_id: str, *, now: dt.datetime) -> Handled:
    """«/stop» in a chat: every live link of that chat ends."""
    ended = _unlink(engine, now=now, reason="stop", where=(ChatLink.channel == channel, ChatLink.chat_id == chat_id))
    if not ended:
        return Handled(NOTHING_TO_STOP)
    plans = ", ".join(sorted({f"«{title}»" for title in ended}))
    return Handled(STOPPED.format(what=f"план {plans}" if len(ended) == 1 else f"планы {plans}"), changed=True)


def unlink_from_page(engine: Engine, *, plan_id: str, party_id: str, channel: str, now: dt.datetime) -> int:
    """«отключить» on the personal page: the party's live links in that messenger end. How many."""
    _check_channel(channel)
    return len(_unlink(engine, now=now, reason="page", where=(
        ChatLink.plan_id == plan_id, ChatLink.party_id == party_id, ChatLink.channel == channel)))


def blocked(engine: Engine, *, channel: str, chat_id: str, now: dt.datetime) -> int:
    """A send to the chat was answered «the bot is blocked»: its live links end (reason
    "blocked", so the page can say so). How many."""
    with write_connection(engine) as conn:  # one definition of the «blocked» unlink, shared with delivery
        return chat_queue.unlink_blocked(conn, chat_queue.address(channel, chat_id), now)


def _unlink(engine: Engine, *, now: dt.datetime, reason: str, where: tuple) -> list[str]:
    """Ends the live links that match; the titles of their plans, one per link."""
    with write_session(engine) as session:
        rows = session.execute(select(ChatLink).where(ChatLink.unlinked_at.is_(None), *where)).scalars().all()
        titles = []
        for row in rows:
            row.unlinked_at, row.unlink_reason = now, reason
            session.add(row)
            audit.record(session, actor=row.party_id if reason == "page" else f"{row.channel}:{row.chat_id}",
                         action="chat.unlink", plan_id=row.plan_id, at=now,
                         details={"party": row.party_id, "channel": row.channel, "chat": row.chat_id,
                                  "reason": reason})
            plan = session.get(Plan, row.plan_id)
            titles.append(plan.title if plan else row.plan_id)
        return titles


def set_mail_off(engine: Engine, *, plan_id: str, party_id: str, off: bool, now: dt.datetime) -> None:
    """«только в мессенджере, без почты»: while a chat is linked, no digest by e-mail."""
    with write_session(engine) as session:
        party = session.get(Party, (plan_id, party_id))
        if party is None or party.mail_off == off:
            return
        party.mail_off = off
        session.add(party)
        audit.record(session, actor=party_id, action="party.mail_off" if off else "party.mail_on", plan_id=plan_id,
                     at=now, details={"party": party_id})

