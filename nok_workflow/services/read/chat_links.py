"""What the personal page shows of the messengers: for each channel whose bot is configured,
whether a chat is linked, whether the bot was blocked there, the bot's name for the deep link;
and the chats a message to the bot comes from. Changes: services/commands/chat_links.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.store.models import BotState, ChatLink, Party
from nok_workflow.text import MESSENGERS

LABELS = MESSENGERS
DEEP_LINK = {"telegram": "https://t.me/{bot}?start={token}", "max": "https://max.ru/{bot}?start={token}"}


@dataclass(frozen=True)
class Channel:
    channel: str
    label: str
    username: str | None  # the bot's, from getMe / me (None until the poller has asked)
    linked: int  # live links of the party in this messenger
    linked_at: dt.datetime | None  # the newest one's
    blocked: bool  # the last link ended because the person blocked the bot, and none is live


@dataclass(frozen=True)
class PartyChats:
    channels: tuple[Channel, ...]  # only the configured ones, in the order given
    mail_off: bool

    @property
    def any_linked(self) -> bool:
        return any(c.linked for c in self.channels)

    def get(self, channel: str) -> Channel | None:
        return next((c for c in self.channels if c.channel == channel), None)


def deep_link(channel: str, username: str, token: str) -> str:
    """The link that opens the bot with the start parameter (t.me/… or max.ru/…)."""
    return DEEP_LINK[channel].format(bot=quote(username, safe=""), token=quote(token, safe=""))


def for_party(engine: Engine, *, plan_id: str, party_id: str, configured: tuple[str, ...]) -> PartyChats:
    with Session(engine) as session:
        party = session.get(Party, (plan_id, party_id))
        links = session.execute(select(ChatLink).where(
            ChatLink.plan_id == plan_id, ChatLink.party_id == party_id).order_by(ChatLink.id)).scalars().all()
        states = {s.channel: s for s in session.execute(select(BotState)).scalars()}
        channels = []
        for channel in configured:
            mine = [link for link in links if link.channel == channel]
            live = [link for link in mine if link.unlinked_at is None]
            last = mine[-1] if mine else None
            state = states.get(channel)
            channels.append(Channel(channel, LABELS[channel], state.username if state else None, len(live),
                                    live[-1].linked_at if live else None,
                                    not live and last is not None and last.unlink_reason == "blocked"))
        return PartyChats(tuple(channels), bool(party and party.mail_off))


def live_links(engine: Engine, *, channel: str, chat_id: str) -> list[ChatLink]:
    """The chat's live links."""
    with Session(engine) as session:
        rows = list(session.execute(select(ChatLink).where(
            ChatLink.channel == channel, ChatLink.chat_id == chat_id, ChatLink.unlinked_at.is_(None))).scalars())
        session.expunge_all()
        return rows


def username(engine: Engine, channel: str) -> str | None:
    with Session(engine) as session:
        state = session.get(BotState, channel)
        return state.username if state else None
