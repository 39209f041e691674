"""A messenger bot's polling state (BotState): who polls — a lease, so that of several
processes (`nok serve`, a worker) exactly one polls each bot — where the long polling stands
(the offset / marker after the last batch handled), and the bot's username from getMe / me."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from nok_workflow.store.db import write_session
from nok_workflow.store.models import BotState

LEASE = dt.timedelta(seconds=90)  # a poller renews it after each long poll (≤ 25 s) and handled batch


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def take_lease(engine: Engine, channel: str, poller: str, *, now: dt.datetime, lease: dt.timedelta = LEASE) -> bool:
    """The lease for `poller` when it is free, expired or already its own (then renewed); False
    when another poller holds it. The row is written under the store's write lock (SQLite: BEGIN
    IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE), so two takers never both win."""
    try:
        with write_session(engine) as session:
            state = session.execute(select(BotState).where(BotState.channel == channel).with_for_update()).scalar()
            if state is None:
                session.add(BotState(channel=channel, poller=poller, lease_until=now + lease, updated_at=now))
                return True
            until = _aware(state.lease_until)
            if state.poller not in (None, poller) and until is not None and until > now:
                return False
            state.poller, state.lease_until, state.updated_at = poller, now + lease, now
            session.add(state)
            return True
    except IntegrityError:  # another process made the row at the same moment: it holds the lease
        return False


def release(engine: Engine, channel: str, poller: str, *, now: dt.datetime) -> None:
    """A poller stopping lets the next one take over at once."""
    with write_session(engine) as session:
        state = session.get(BotState, channel)
        if state is not None and state.poller == poller:
            state.poller, state.lease_until, state.updated_at = None, None, now
            session.add(state)


def offset(engine: Engine, channel: str) -> str | None:
    with Session(engine) as session:
        state = session.get(BotState, channel)
        return state.offset if state else None


def save(engine: Engine, channel: str, poller: str, *, now: dt.datetime, offset: str | None = None,
         username: str | None = None, lease: dt.timedelta = LEASE) -> bool:
    """Stores the offset after a handled batch (and/or the bot's username) and renews the lease —
    only while `poller` holds it; False when it has lost it (then it stops polling)."""
    with write_session(engine) as session:
        state = session.execute(select(BotState).where(BotState.channel == channel).with_for_update()).scalar()
        if state is None or state.poller != poller:
            return False
        if offset is not None:
            state.offset = offset
        if username is not None:
            state.username = username[:64]
        state.lease_until, state.updated_at = now + lease, now
        session.add(state)
        return True
