"""Loading plans into the store: versions, the diff of an amendment, obligations in bulk.

Loading is idempotent (the same file twice changes nothing). An amended file makes a new
version: unchanged items keep their obligations and evidence (items are matched by their
`id:` or else their full number), removed items' obligations are cancelled, never
deleted, and changed deadlines reschedule obligations not yet done.

Two loads at once: the diff is computed against the version read first; the write checks
that version is still current (and SQLite's BEGIN IMMEDIATE queues the writers), so the
second gets a clear error instead of silently undoing the first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.expand import ItemSpec, ObligationSpec, expand
from nok_workflow.plan import source
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.policy import resolve
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit, campaigns, progress
from nok_workflow.services.read.obligations import policy_json
from nok_workflow.services.delivery.outbox import queue
from nok_workflow.services.commands.directory_links import link_plan
from nok_workflow.services.commands.relative import refresh_relative
from nok_workflow.store.db import write_session
from nok_workflow.store.models import (
    Item,
    Obligation,
    Party,
    Plan,
    PlanVersion,
    touched,
)
from nok_workflow.store.statistics import analyze_if_stale

_ITEM_FIELDS = ("key", "number", "title", "deadline_text", "kind", "owners", "results",
                "depends_on", "relative", "review_required", "position")
_FIELD_LABELS = {"key": "номер", "number": "номер", "title": "название", "deadline_text": "срок",
                 "kind": "вид срока", "owners": "ответственные", "results": "результат",
                 "depends_on": "зависимости", "relative": "относительный срок",
                 "review_required": "проверка документов", "position": "порядок"}


@dataclass
class PlanDiff:
    plan_id: str
    base_version: int
    new_plan: bool
    sha256: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    plan_changes: list[str] = field(default_factory=list)
    directory_changed: bool = False
    obligations_added: int = 0
    obligations_cancelled: int = 0
    obligations_rescheduled: int = 0
    obligations_restored: int = 0
    # work for `apply`
    _items: list[ItemSpec] = field(default_factory=list, repr=False)
    _new: list[ObligationSpec] = field(default_factory=list, repr=False)
    _cancel: list[int] = field(default_factory=list, repr=False)
    _reschedule: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _restore: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def empty(self) -> bool:
        return not (self.new_plan or self.added or self.removed or self.changed or self.plan_changes
                    or self.directory_changed or self.obligations_added or self.obligations_cancelled
                    or self.obligations_rescheduled or self.obligations_restored)

    def lines(self) -> list[str]:
        """What changes, as `nok plan load` and the web's upload page say it."""
        lines = []
        if self.added:
            lines.append(f"добавлено пунктов: {len(self.added)} ({', '.join(self.added)})")
        if self.removed:
            lines.append(f"удалено пунктов: {len(self.removed)} ({', '.join(self.removed)})")
        lines += [f"изменён пункт {key}: {', '.join(fields)}" for key, fields in self.changed]
        if self.plan_changes:
            lines.append(f"изменено в плане: {', '.join(self.plan_changes)}")
        if self.directory_changed:
            lines.append("изменён справочник исполнителей или организаций")
        counts = [
            (self.obligations_added, "новых обязательств"), (self.obligations_cancelled, "отменено"),
            (self.obligations_rescheduled, "перенесено сроков"), (self.obligations_restored, "возвращено"),
        ]
        lines.append("обязательства: " + ", ".join(f"{label}: {n}" for n, label in counts
                                                     if n or label.startswith("нов")))
        return lines

    def summary(self) -> dict[str, Any]:
        return {
            "added": self.added, "removed": self.removed,
            "changed": {key: fields for key, fields in self.changed},
            "plan": self.plan_changes, "directory_changed": self.directory_changed,
            "obligations": {"added": self.obligations_added, "cancelled": self.obligations_cancelled,
                            "rescheduled": self.obligations_rescheduled,
                            "restored": self.obligations_restored},
        }


@dataclass
class LoadResult:
    diff: PlanDiff
    version: int
    applied: bool
    loaded: LoadedPlan


def read_plan_file(path: Path) -> tuple[LoadedPlan, str]:
    text = source.read_text(path)
    with source.paused_gc():
        return validate_document(source.parse(text, str(path))), text


def compute_diff(engine: Engine, loaded: LoadedPlan, text: str) -> PlanDiff:
    """What loading ``loaded`` would change. Only the obligations of items whose organisations
    or windows changed (their `slots` digest), or that were added or removed, are expanded,
    read and compared: the others' obligations are as the last load left them."""
    plan = loaded.plan
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with Session(engine) as session:
        row = session.get(Plan, plan.id)
        if row is None:
            items, obligations = expand(loaded.compiled)
            return PlanDiff(plan.id, 0, True, sha, added=[i.key for i in items], _items=items,
                            _new=obligations, obligations_added=len(obligations))
        items, _ = expand(loaded.compiled, only=())
        diff = PlanDiff(plan.id, row.current_version, False, sha, _items=items)
        if session.execute(
            select(PlanVersion.sha256).where(PlanVersion.plan_id == plan.id,
                                             PlanVersion.version == row.current_version)
        ).scalar_one_or_none() == sha:
            return diff  # the very file of the current version: nothing to compare
        for attr, label in (("title", "название"), ("timezone", "часовой пояс"),
                            ("coordinator", "координатор"), ("review_required", "проверка документов")):
            if getattr(row, attr) != getattr(plan, attr):
                diff.plan_changes.append(label)
        if row.reminder_hour != resolve(plan).hour:
            diff.plan_changes.append("час напоминаний")
        diff.directory_changed = _parties(plan) != {
            r[0]: tuple(r[1:]) for r in session.execute(
                # An address the coordinator's directory gave is not the plan's own (directory_links).
                select(Party.id, Party.name, Party.kind, Party.group_id,
                       case((Party.email_from.is_(None), Party.email)), Party.escalates_to)
                .where(Party.plan_id == plan.id))
        }
        current = {i.identity: i for i in session.execute(select(Item).where(Item.plan_id == plan.id)).scalars()}
        stale: set[str] = set()
        for spec in items:
            old = current.get(spec.identity)
            if old is None or not old.active:
                diff.added.append(spec.key)
                stale.add(spec.identity)
                continue
            if old.slots != spec.slots:
                stale.add(spec.identity)
            new_row = spec.row()
            fields = [f for f in _ITEM_FIELDS if getattr(old, f) != new_row[f] and f != "position"]
            if fields:
                diff.changed.append((spec.key, sorted({_FIELD_LABELS[f] for f in fields})))
        expected_ids = {s.identity for s in items}
        gone = [i for i in current.values() if i.active and i.identity not in expected_ids]
        diff.removed = [i.key for i in gone]
        compared = [current[i].id for i in stale if i in current] + [i.id for i in gone]
        existing = session.execute(
            select(Obligation.id, Item.identity, Obligation.period, Obligation.org_id, Obligation.opens,
                   Obligation.due, Obligation.state, Obligation.completed_on, Item.kind)
            .join(Item, Item.id == Obligation.item_id).where(Obligation.item_id.in_(compared))
        ).all() if compared else []
    _, obligations = expand(loaded.compiled, only=stale)
    by_slot = {(r.identity, r.period, r.org_id): r for r in existing}
    expected = {o.slot: o for o in obligations}
    new_specs: list[ObligationSpec] = []
    for slot, spec in expected.items():
        row = by_slot.get(slot)
        if row is None:
            new_specs.append(spec)
        elif row.state == "cancelled":
            diff._restore.append({"oid": row.id, "period": spec.period, "opens": spec.opens, "due": spec.due})
        elif row.completed_on is None and row.state == "active" and spec.period != "relative" and (
                row.opens, row.due) != (spec.opens, spec.due):
            diff._reschedule.append({"oid": row.id, "period": spec.period, "opens": spec.opens, "due": spec.due})
    # Done obligations stay as a record of the work; only open ones are cancelled.
    leftovers = [r for slot, r in by_slot.items()
                 if slot not in expected and r.state == "active" and r.completed_on is None]
    # A single-occurrence item whose deadline moved (Декабрь → Ноябрь) keeps its obligation:
    # the one open leftover of that item and organisation is rescheduled, not replaced.
    new_by_owner: dict[tuple[str, str], list[ObligationSpec]] = {}
    for spec in new_specs:
        new_by_owner.setdefault((spec.identity, spec.org_id), []).append(spec)
    old_by_owner: dict[tuple[str, str], list[Any]] = {}
    for r in leftovers:
        old_by_owner.setdefault((r.identity, r.org_id), []).append(r)
    for owner, olds in old_by_owner.items():
        news = new_by_owner.get(owner, [])
        if len(olds) == 1 and len(news) == 1 and "relative" not in (olds[0].period, news[0].period):
            spec = news.pop()
            diff._reschedule.append({"oid": olds[0].id, "period": spec.period, "opens": spec.opens, "due": spec.due})
        else:
            diff._cancel.extend(r.id for r in olds)
    diff._new = [spec for specs in new_by_owner.values() for spec in specs]
    diff.obligations_added = len(diff._new)
    diff.obligations_cancelled = len(diff._cancel)
    diff.obligations_rescheduled = len(diff._reschedule)
    diff.obligations_restored = len(diff._restore)
    return diff


def load(engine: Engine, path: Path, *, actor: str | None, now: dt.datetime,
         dry_run: bool = False, read: tuple[LoadedPlan, str] | None = None,
         campaign: tuple[str, str] | None = None) -> LoadResult:
    """Validate, diff and (unless ``dry_run``) apply a plan file in one transaction.
    ``read``: the file as `read_plan_file` gave it, when the caller checked it already.
    ``campaign``: (campaign id, what the plan is called in a refusal) — the plan joins that
    campaign in the same transaction, unless it would be a second plan of its organisation there."""
    loaded, text = read or read_plan_file(path)  # an invalid file changes nothing
    with source.paused_gc():  # hundreds of thousands of rows, none of them in a cycle
        diff = compute_diff(engine, loaded, text)
        if dry_run or (diff.empty and campaign is None):
            return LoadResult(diff, diff.base_version, False, loaded)
        if diff.empty:  # the same text again, only joining the campaign
            campaigns.join(engine, loaded.plan.id, campaign, loaded.plan.organisation, loaded.plan.period.end)
            return LoadResult(diff, diff.base_version, False, loaded)
        version = _apply(engine, loaded, text, str(path), diff, actor or loaded.plan.coordinator, now, campaign)
    analyze_if_stale(engine, diff.obligations_added + diff.obligations_rescheduled)
    return LoadResult(diff, version, True, loaded)


def _apply(engine: Engine, loaded: LoadedPlan, text: str, file: str, diff: PlanDiff, actor: str,
           now: dt.datetime, campaign: tuple[str, str] | None = None) -> int:
    plan = loaded.plan
    version = diff.base_version + 1
    policy = policy_json(resolve(plan))
    try:
        with write_session(engine) as session:
            if diff.new_plan:
                session.add(Plan(id=plan.id, title=plan.title, timezone=plan.timezone,
                                 coordinator=plan.coordinator, review_required=plan.review_required,
                                 reminder_hour=resolve(plan).hour, current_version=version, created_at=now,
                                 period_end=plan.period.end, policy=policy, kind=plan.kind,
                                 organisation_id=plan.organisation))
                session.flush()
                old_title = None
            else:
                old_title = session.execute(select(Plan.title).where(Plan.id == plan.id)).scalar()
                moved = session.execute(
                    update(Plan).where(Plan.id == plan.id, Plan.current_version == diff.base_version)
                    .values(current_version=version, title=plan.title, timezone=plan.timezone,
                            coordinator=plan.coordinator, review_required=plan.review_required,
                            reminder_hour=resolve(plan).hour, period_end=plan.period.end, policy=policy,
                            kind=plan.kind, organisation_id=plan.organisation)
                ).rowcount
                if moved != 1:
                    raise _conflict(file, plan.id)
            if campaign is not None:
                campaigns.join_in(session, plan.id, campaign, plan.organisation, plan.period.end)
            session.add(PlanVersion(plan_id=plan.id, version=version, sha256=diff.sha256,
                                    source_file=file, source_text=text, loaded_at=now,
                                    loaded_by=actor, summary=diff.summary()))
            # An amendment that keeps the directory leaves its rows (thousands of schools) alone.
            renamed = _write_parties(session, loaded) if diff.new_plan or diff.directory_changed else set()
            link_plan(session, plan.id, plan.coordinator)  # addresses from the coordinator's directory
            policies = {ci.item.id or ci.key: policy_json(resolve(plan, ci.item)) for ci in loaded.compiled.items}
            ids, shown_changed = _write_items(session, plan.id, diff, version, policies)
            _write_obligations(session, plan.id, diff, ids, version, now)
            _touch_shown(session, plan.id, diff, ids, now, items=shown_changed, parties=renamed,
                         everything=old_title is not None and old_title != plan.title)
            session.flush()
            refresh_relative(session, plan.id, now)
            progress.record(session, loaded.compiled, actor, now)
            _tell_owners(session, loaded, diff, version, now)
            audit.record(session, actor=actor, action="plan.load" if diff.new_plan else "plan.amend",
                         plan_id=plan.id, at=now, details={"version": version, **diff.summary()})
    except IntegrityError:
        raise _conflict(file, plan.id) from None
    return version


def _tell_owners(session: Session, loaded: LoadedPlan, diff: PlanDiff, version: int, now: dt.datetime) -> None:
    """Each owner learns what a load or an amendment changed for them (one row each)."""
    plan = loaded.plan
    members: dict[str, list[str]] = {}
    for org in plan.organisations:
        members.setdefault("@" + org.group, []).append(org.id)
    changed = dict(diff.changed)
    mine: dict[str, dict[str, list[str]]] = {}
    owners_of = {ci.key: ci.item.owners for ci in loaded.compiled.items}
    removed_owners = dict(session.execute(select(Item.key, Item.owners).where(
        Item.plan_id == plan.id, Item.key.in_(diff.removed))).all()) if diff.removed else {}
    for kind, keys in (("added", diff.added), ("changed", list(changed)), ("removed", diff.removed)):
        for key in keys:
            for ref in owners_of.get(key) or removed_owners.get(key) or []:
                for who in members.get(ref, [ref]) if ref.startswith("@") else [ref]:
                    mine.setdefault(who, {}).setdefault(kind, []).append(key)
    day = plan_day(now, plan.timezone)
    labels = {"added": "новые пункты", "changed": "изменены", "removed": "исключены"}
    rows = []
    for who, kinds in mine.items():
        parts = []
        for kind in ("added", "changed", "removed"):
            if keys := kinds.get(kind):
                shown = [f"{k} ({', '.join(changed[k])})" if kind == "changed" else k for k in keys]
                parts.append(f"{labels[kind]}: {', '.join(shown)}")
        title = ("План загружен, ваши пункты: " if diff.new_plan else f"Редакция {version}: ") + "; ".join(parts)
        rows.append({"key": f"plan:{plan.id}:v{version}:{who}", "plan_id": plan.id, "obligation_id": None,
                     "kind": "plan_changed", "step": version, "recipient": who, "day": day, "created_at": now,
                     "status": "queued", "attempts": 0, "next_attempt_at": now, "details": {"title": title}})
    queue(session, rows)


def _conflict(file: str, plan_id: str) -> InputError:
    return InputError([Problem(file, 0, 0, f"план «{plan_id}» только что изменила другая загрузка; "
                                           "ничего не записано — проверьте изменения и загрузите снова")])


def _parties(plan) -> dict[str, tuple]:
    result = {e.id: (e.name, e.kind, None, e.email, e.escalates_to) for e in plan.directory}
    result |= {"@" + g.id: (g.name, "group", None, None, g.escalates_to) for g in plan.groups}
    result |= {o.id: (o.name, "organisation", o.group, o.email, o.escalates_to) for o in plan.organisations}
    return result


def _write_parties(session: Session, loaded: LoadedPlan) -> set[str]:
    """The plan's directory written anew; the ids of parties whose name changed."""
    plan_id = loaded.plan.id
    before = dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())
    session.execute(Party.__table__.delete().where(Party.plan_id == plan_id))
    rows = [{"plan_id": plan_id, "id": pid, "name": t[0], "kind": t[1], "group_id": t[2], "email": t[3],
             "escalates_to": t[4], "active": True} for pid, t in _parties(loaded.plan).items()]
    session.connection().execute(Party.__table__.insert(), rows)
    return {r["id"] for r in rows if r["id"] in before and before[r["id"]] != r["name"]}


def _touch_shown(session: Session, plan_id: str, diff: PlanDiff, ids: dict[str, int], now: dt.datetime, *,
                 items: list[int], parties: set[str], everything: bool) -> None:
    """Obligations whose calendar events now read differently get a new revision: those of
    items with a new title, owners, documents or wording; those of renamed owners and
    organisations; all of them when the plan's title changed. One statement."""
    table = Obligation.__table__
    # Rows this very load rescheduled or cancelled carry `now` already: writing them again
    # would change nothing (`touched` counts once) but cost a second write of each.
    live = ((table.c.plan_id == plan_id) & (table.c.state != "cancelled")
            & or_(table.c.changed_at.is_(None), table.c.changed_at != now))
    if everything:
        session.execute(update(table).where(live).values(**touched(now)))
        return
    owned = {ids[s.identity] for s in diff._items if parties & set(s.row()["owners"])}
    wanted = set(items) | owned
    if wanted or parties:
        session.execute(update(table).where(live, or_(table.c.item_id.in_(wanted), table.c.org_id.in_(parties)))
                        .values(**touched(now)))


# What an obligation's calendar event shows of its item: a change touches its obligations.
_SHOWN = ("key", "title", "owners", "results", "deadline_text")


def _write_items(session: Session, plan_id: str, diff: PlanDiff, version: int,
                 policies: dict[str, dict[str, Any]]) -> tuple[dict[str, int], list[int]]:
    """The items written; their ids by identity and the ids of those whose shown fields changed."""
    current = {i.identity: i for i in session.execute(select(Item).where(Item.plan_id == plan_id)).scalars()}
    expected = {s.identity for s in diff._items}
    new_rows, shown_changed = [], []
    for spec in diff._items:
        old = current.get(spec.identity)
        if old is None:
            new_rows.append({"plan_id": plan_id, **spec.row(), "active": True, "policy": policies[spec.identity],
                             "first_version": version, "last_version": version})
            continue
        fields = spec.row()
        if any(getattr(old, name) != fields[name] for name in _SHOWN):
            shown_changed.append(old.id)
        for name, value in fields.items():
            setattr(old, name, value)
        old.policy = policies[spec.identity]
        old.active, old.last_version = True, version
    for identity, old in current.items():
        if identity not in expected and old.active:
            old.active = False
    if new_rows:
        session.connection().execute(Item.__table__.insert(), new_rows)
    session.flush()
    ids = dict(session.execute(select(Item.identity, Item.id).where(Item.plan_id == plan_id)).all())
    return ids, shown_changed


def _write_obligations(session: Session, plan_id: str, diff: PlanDiff, ids: dict[str, int],
                       version: int, now: dt.datetime) -> None:
    if diff._new:
        _insert_obligations(session, plan_id, diff._new, ids, version, now)
    table = Obligation.__table__
    # An amendment moves thousands of obligations to a few new windows: one UPDATE per window
    # (and per chunk of ids), not one per obligation.
    groups: dict[tuple, list[int]] = {}
    for oid in diff._cancel:
        groups.setdefault((("state", "cancelled"), ("state_reason", f"исключено в версии {version}")), []).append(oid)
    for rows, extra in ((diff._reschedule, ()), (diff._restore, (("state", "active"), ("state_reason", None)))):
        for r in rows:
            groups.setdefault((("period", r["period"]), ("opens", r["opens"]), ("due", r["due"]), *extra),
                              []).append(r["oid"])
    for values, oids in groups.items():
        for start in range(0, len(oids), _CHUNK):
            session.execute(update(table).where(table.c.id.in_(oids[start:start + _CHUNK]))
                            .values(**dict(values), **touched(now)))


_CHUNK = 500  # ids in one IN (…): well under every driver's limit of parameters


# Every column but the id, in the order `_insert_obligations` gives the values.
_OBLIGATION_COLUMNS = ("plan_id", "item_id", "period", "org_id", "opens", "due", "state", "state_reason",
                       "completed_on", "completed_by_evidence", "created_version", "status", "level",
                       "revision", "changed_at")


def _insert_obligations(session: Session, plan_id: str, specs: list[ObligationSpec], ids: dict[str, int],
                        version: int, now: dt.datetime) -> None:
    """New obligations through the driver itself, in the load's own transaction: COPY on
    PostgreSQL, one executemany on SQLite. SQLAlchemy's executemany spends more per row on
    its parameters than the database spends writing them."""
    conn = session.connection()
    dialect = conn.dialect
    columns = Obligation.__table__.c
    day = _converter(columns.due.type, dialect)  # a few dozen distinct dates: converted once each
    changed_at = _converter(columns.changed_at.type, dialect)(now)
    rows = [(plan_id, ids[o.identity], o.period, o.org_id, day(o.opens), day(o.due), "active", None, None, None,
             version, "upcoming", 0, 0, changed_at) for o in specs]
    raw = conn.connection.dbapi_connection
    names = ", ".join(_OBLIGATION_COLUMNS)
    cursor = raw.cursor()
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY obligation ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Index pages of a region's rows outgrow SQLite's default 2 MB cache; a larger one for
        # this statement keeps them from being written out and read back again.
        size = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA cache_size = -131072")
        try:
            cursor.executemany(f"INSERT INTO obligation ({names}) VALUES ({', '.join('?' * len(_OBLIGATION_COLUMNS))})",
                               rows)
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(size)}")
    finally:
        cursor.close()


def _converter(type_: Any, dialect: Any) -> Any:
    """The value the driver would be given for a column of this type, remembered per value:
    the type's own bind conversion, then (SQLite) the adapter sqlite3 would apply."""
    process = type_.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    if dialect.name == "sqlite":
        import sqlite3

        def final(value: Any) -> Any:
            value = process(value)
            return sqlite3.adapt(value, sqlite3.PrepareProtocol, value)
    else:
        final = process
    seen: dict[Any, Any] = {None: None}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = final(value)
            return converted
    return convert
