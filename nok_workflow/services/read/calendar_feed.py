"""What a calendar feed holds, and its bytes, fast enough to serve to every subscriber.

A feed is a whole plan's obligations or one party's (an owner or an organisation, in one
plan or in every plan it is in): one event per obligation with a due date, done and
overdue ones kept, cancelled ones left out. The rows come in one query per plan.

Each event's bytes are kept in memory under the obligation's revision (it moves whenever
anything the event shows changes), grouped by feed variant (whose feed, plan version,
link): a feed whose events did not change is a join of cached pieces.
A whole feed is also kept until the store changes (its audit log grows, see dashboard.py),
so a calendar client asking again costs an ETag comparison.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from nok_workflow.calendar.events import EventFacts, deadline, shown_status
from nok_workflow.calendar.ics import calendar_from_events, event_bytes
from nok_workflow.expand import obligation_owners
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.dashboard import party_names
from nok_workflow.services.read.links import link_for
from nok_workflow.services.read.party_view import party_items, period_label
from nok_workflow.store.fresh import in_flight_sql, remembered
from nok_workflow.tokens import upload_link
from nok_workflow.store.models import (
    NO_ORG,
    Item,
    LinkRevision,
    Obligation,
    Party,
    Plan,
    PlanVersion,
    StoreMeta,
)

STAMP_TTL = 1.0  # seconds another process's change may take to show (store/fresh.py)
PIECES_MAX_BYTES = 64 * 1024 * 1024
FEEDS_MAX = 256


@dataclass(frozen=True)
class Scope:
    plan_id: str | None = None
    party_id: str | None = None  # None: the whole plan


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str  # strong: a hash of the bytes
    last_modified: dt.datetime  # the newest change to anything the feed shows (UTC)
    events: int
    name: str


# A feed's obligations in its order, first as (id, revision, item, organisation) only: the
# revision moves whenever anything an event shows changes (plans.py, evidence.py, sweep.py),
# so it is the cache key, and a warm feed of thousands reads two integers a row. Full rows
# (dates, status) are read only for the events that must be made.
_KEYS = (Obligation.id, Obligation.revision, Obligation.item_id, Obligation.org_id)
_FULL = (*_KEYS, Obligation.plan_id, Obligation.period, Obligation.due, Obligation.status, Obligation.state,
         Obligation.completed_on, Obligation.changed_at)
_SHOWN = (Obligation.due.is_not(None), Obligation.state != "cancelled")
_FETCH_ALL_ABOVE = 500  # more events to make than this: read them all again rather than by id


def _rows(session: Session, columns: tuple, where: tuple) -> list[Any]:
    query = (select(*columns).join(Item, Item.id == Obligation.item_id).where(*where, *_SHOWN)
             .order_by(Obligation.due, Item.position, Obligation.period, Obligation.org_id))
    return session.connection().execute(query).all()


def _newest_change(session: Session, where: tuple) -> dt.datetime | None:
    """Cancelled obligations count too: leaving the feed is a change."""
    return session.connection().execute(select(func.max(Obligation.changed_at)).where(*where)).scalar()


class _Pieces:
    """Serialised events in groups, one per feed variant (store, whose feed, plan version,
    link): obligation id → (its revision, bytes). Whole groups least recently used go first
    beyond PIECES_MAX_BYTES. A warm lookup allocates nothing per event."""

    def __init__(self) -> None:
        self._groups: OrderedDict[tuple, dict[int, tuple[int, bytes]]] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get_many(self, group: tuple, rows: Sequence[Any]) -> list[bytes | None]:
        """The cached piece of each (id, revision, …) row, None where missing or of another revision."""
        with self._lock:
            pieces = self._groups.get(group)
            if pieces is None:
                return [None] * len(rows)
            self._groups.move_to_end(group)
            found: list[bytes | None] = []
            for row in rows:
                hit = pieces.get(row[0])
                found.append(hit[1] if hit is not None and hit[0] == row[1] else None)
            return found

    def put_many(self, group: tuple, made: list[tuple[int, int, bytes]]) -> None:
        with self._lock:
            pieces = self._groups.setdefault(group, {})
            self._groups.move_to_end(group)
            size = self._sizes.get(group, 0)
            for ob_id, revision, piece in made:
                old = pieces.get(ob_id)
                size += len(piece) - (len(old[1]) if old is not None else 0)
                pieces[ob_id] = (revision, piece)
            self._bytes += size - self._sizes.get(group, 0)
            self._sizes[group] = size
            while self._bytes > PIECES_MAX_BYTES and len(self._groups) > 1:
                oldest, _ = self._groups.popitem(last=False)
                self._bytes -= self._sizes.pop(oldest)

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()
            self._sizes.clear()
            self._bytes = 0


_pieces = _Pieces()
_feeds: OrderedDict[tuple, tuple[Any, Feed]] = OrderedDict()
_feeds_lock = threading.Lock()
_store_ids: dict[str, str] = {}


def store_id(session: Session) -> str:
    url = str(session.get_bind().url)
    if url not in _store_ids:
        row = session.get(StoreMeta, "store_id")
        if row is None:  # only a store made without the migrations (never by nok itself)
            raise InputError([Problem("store", 0, 0, "у хранилища нет идентификатора: выполните nok plan list, "
                                                     "чтобы применить обновления схемы")])
        _store_ids[url] = row.value
    return _store_ids[url]


class _Builder:
    """The events of one feed (or one digest), made or taken from the cache."""

    def __init__(self, session: Session, engine: Engine, base_url: str, key: bytes) -> None:
        self.session, self.engine, self.base_url, self.key = session, engine, base_url, key
        self.store = store_id(session)
        self.url = str(engine.url)
        self._compiled: dict[str, Any] = {}  # plan id → its current version compiled, when a piece is made

    def plan_facts(self, plan_id: str) -> tuple[Plan, PlanVersion]:
        plan = self.session.get(Plan, plan_id)
        version = self.session.execute(select(PlanVersion).where(
            PlanVersion.plan_id == plan_id, PlanVersion.version == plan.current_version)).scalar_one()
        return plan, version

    def items(self, plan_id: str) -> dict[int, Item]:
        return {i.id: i for i in self.session.execute(select(Item).where(Item.plan_id == plan_id)).scalars()}

    def events(self, plan: Plan, items: dict[int, Item], keys: Sequence[Any], where: tuple, *, variant: str,
               link: str | None, names: dict[str, str], with_org: bool, full: dict[int, Any] | None = None
               ) -> list[bytes]:
        """The event of each (id, revision, …) row of `_rows(…, where)`, in their order: from
        the cache where the revision is the same; the others made from full rows (`full`, or
        read now) and cached."""
        group = (self.url, self.store, variant, plan.current_version, link)
        pieces = _pieces.get_many(group, keys)
        missing = [n for n, piece in enumerate(pieces) if piece is None]
        if not missing:
            return pieces
        if full is None:
            ids = [keys[n][0] for n in missing]
            narrowed = where if len(ids) > _FETCH_ALL_ABOVE else (Obligation.id.in_(ids),)
            full = {r.id: r for r in _rows(self.session, _FULL, narrowed)}
        made = []
        for n in missing:
            r = full.get(keys[n][0])
            if r is None:  # cancelled or undated since the keys were read: as if it were not there
                continue
            status = shown_status(r.state, r.completed_on, r.due, r.status)
            pieces[n] = self._event(plan, items[r.item_id], r, status, variant, link, names, with_org)
            made.append((r.id, r.revision, pieces[n]))
        _pieces.put_many(group, made)
        return [p for p in pieces if p is not None]

    def _event(self, plan: Plan, item: Item, r: Any, status: str, variant: str, link: str | None,
               names: dict[str, str], with_org: bool) -> bytes:
        if plan.id not in self._compiled:
            self._compiled[plan.id] = current_plan(self.engine, plan.id, plan.current_version)
        return event_bytes(deadline(EventFacts(
            store_id=self.store, obligation_id=r.id, plan_id=plan.id, plan_title=plan.title,
            timezone=plan.timezone, identity=item.identity, key=item.key, title=item.title,
            deadline_text=item.deadline_text, period=r.period, period_label=period_label(r.period),
            org_id=r.org_id, org_name=names.get(r.org_id) if with_org and r.org_id != NO_ORG else None,
            due=r.due, status=status, completed_on=r.completed_on,
            owners=tuple(names.get(o, o) for o in obligation_owners(r.org_id, item.owners)),
            results=tuple(item.results), link=link,
            link_text="Загрузить документ" if variant != "plan" else "Пункт в плане", revision=r.revision,
            changed_at=_utc(r.changed_at or plan.created_at),
            policy=self._compiled[plan.id].policy(item.identity))))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _newest(*moments: dt.datetime | None) -> dt.datetime:
    return max(_utc(m) for m in moments if m is not None)


def build(engine: Engine, scope: Scope, *, base_url: str, key: bytes) -> Feed:
    """The feed's bytes as of the store now."""
    with Session(engine) as session:
        b = _Builder(session, engine, base_url, key)
        if scope.party_id is None:
            return _plan_feed(b, scope.plan_id)
        return _party_feed(b, scope)


def _plan_feed(b: _Builder, plan_id: str | None) -> Feed:
    if plan_id is None or b.session.get(Plan, plan_id) is None:
        raise InputError([Problem("--plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
    plan, version = b.plan_facts(plan_id)
    where = (Obligation.plan_id == plan_id,)
    keys = _rows(b.session, _KEYS, where)
    names = dict(b.session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())
    pieces = b.events(plan, b.items(plan_id), keys, where, variant="plan",
                      link=f"{b.base_url.rstrip('/')}/plans/{plan_id}", names=names, with_org=True)
    return _feed(pieces, plan.title, plan.timezone,
                 _newest(_newest_change(b.session, where), version.loaded_at, plan.created_at))


def _party_feed(b: _Builder, scope: Scope) -> Feed:
    query = select(Party).where(Party.id == scope.party_id)
    if scope.plan_id is not None:
        query = query.where(Party.plan_id == scope.plan_id)
    parties = b.session.execute(query.order_by(Party.plan_id)).scalars().all()
    if not parties:
        raise InputError([Problem("--owner", 0, 0, f"«{scope.party_id}» нет в справочнике "
                                  + (f"плана «{scope.plan_id}»" if scope.plan_id else "ни одного плана"))])
    pieces, moments, timezone = [], [], None
    for party in parties:
        plan, version = b.plan_facts(party.plan_id)
        timezone = timezone or plan.timezone
        items = party_items(b.session, plan.id, party, removed=True)  # as the plan feed: done ones stay
        orgs = [party.id, NO_ORG] if party.kind == "organisation" else [NO_ORG]
        where = (Obligation.item_id.in_(list(items)), Obligation.org_id.in_(orgs))
        keys = [r for r in _rows(b.session, _KEYS, where)
                if party.id in obligation_owners(r.org_id, items[r.item_id].owners)] if items else []
        owners = {o for i in items.values() for o in i.owners} | {party.id}
        names = party_names(b.session, plan.id, owners)
        revision = b.session.get(LinkRevision, (plan.id, party.id))
        pieces += b.events(plan, items, keys, where, variant=f"party:{party.id}", names=names, with_org=False,
                           link=link_for(b.session, b.base_url, b.key, plan.id, party.id))
        # over the party's items in all their organisations: a superset, so it never goes back
        changed = _newest_change(b.session, where) if items else None
        moments.append(_newest(changed, version.loaded_at, plan.created_at, revision.revoked_at if revision else None))
    return _feed(pieces, f"Сроки: {parties[0].name}", timezone or "Europe/Moscow", max(moments))


def _feed(pieces: list[bytes], name: str, timezone: str, last_modified: dt.datetime) -> Feed:
    body = calendar_from_events(pieces, name, timezone)
    return Feed(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:40]}"',
                last_modified=last_modified.astimezone(dt.UTC).replace(microsecond=0), events=len(pieces),
                name=name)


def _change_stamp(engine: Engine) -> Any:
    """What moves whenever a feed could change: every load, amendment, submission, review,
    waiver, status change, link or feed revocation writes an audit event."""

    query = text(f"SELECT (SELECT max(id) FROM audit_event), {in_flight_sql(engine.dialect.name)}")

    def read() -> Any:
        with Session(engine) as session:
            return tuple(session.execute(query).one())

    return remembered(("feed-stamp", str(engine.url)), STAMP_TTL, read)


def served(engine: Engine, scope: Scope, *, base_url: str, key: bytes) -> Feed:
    """The feed from memory while the store has not changed; else built (from cached pieces)."""
    stamp, cache_key = _change_stamp(engine), (str(engine.url), scope, base_url, key)
    with _feeds_lock:
        hit = _feeds.get(cache_key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    feed = build(engine, scope, base_url=base_url, key=key)
    with _feeds_lock:
        _feeds[cache_key] = (stamp, feed)
        _feeds.move_to_end(cache_key)
        while len(_feeds) > FEEDS_MAX:
            _feeds.popitem(last=False)
    return feed


def digest_events(session: Session, engine: Engine, wanted: set[tuple[int, str]], *, base_url: str,
                  key: bytes) -> dict[tuple[int, str], tuple[bytes, str]]:
    """The events a digest attaches, the same as in its reader's feed (same UIDs, same
    link): (obligation id, reader) → (event, the plan's time zone)."""
    if not wanted:
        return {}
    b = _Builder(session, engine, base_url, key)
    rows = {r.id: r for r in _rows(session, _FULL, (Obligation.id.in_({o for o, _ in wanted}),))}
    found: dict[tuple[int, str], tuple[bytes, str]] = {}
    for plan_id in sorted({r.plan_id for r in rows.values()}):
        plan, _ = b.plan_facts(plan_id)
        mine = [r for r in rows.values() if r.plan_id == plan_id]
        items = b.items(plan_id)
        owners = {o for r in mine for o in items[r.item_id].owners} | {r.org_id for r in mine if r.org_id != NO_ORG}
        names = party_names(session, plan_id, owners)
        pairs = sorted(w for w in wanted if w[0] in rows and rows[w[0]].plan_id == plan_id)
        revisions = dict(session.execute(select(LinkRevision.party_id, LinkRevision.revision).where(
            LinkRevision.plan_id == plan_id, LinkRevision.party_id.in_({r for _, r in pairs}))).all())
        for ob_id, reader in pairs:
            link = upload_link(base_url, key, plan_id, reader, revisions.get(reader, 0))
            pieces = b.events(plan, items, [rows[ob_id]], (), variant=f"party:{reader}", names=names,
                              with_org=False, link=link, full=rows)
            if pieces:
                found[(ob_id, reader)] = (pieces[0], plan.timezone)
    return found
