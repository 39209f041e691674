"""The daily work of a plan, item by item, in bulk: statuses, reminders, escalations.

`process_item` is what one step of the plan flow does. It touches only the obligations
whose status can change today (near their due date, newly opened, reopened, or closed
since the last sweep), so a plan of a hundred thousand obligations costs a few queries.
Messages are queued as outbox rows with unique keys: running the same day twice, or two
sweeps at once, never queues a message twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    bindparam,
    case,
    func,
    select,
    text,
    union_all,
    update,
)
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.deadlines.workdays import is_working_day
from nok_workflow.expand import obligation_owners
from nok_workflow.plan.compiled import clean_number
from nok_workflow.policy import Policy
from nok_workflow.problems import InputError, Problem
from nok_workflow.reminders import escalations_owed, reminder_due
from nok_workflow.services.commands import audit
from nok_workflow.services.read.compiled_plans import VersionCache, current_plan
from nok_workflow.services.delivery.outbox import queue
from nok_workflow.services.commands.relative import refresh_relative
from nok_workflow.status import CLOSED, ObligationFact, days_late, status_of
from nok_workflow.store.db import write_session
from nok_workflow.store.models import CLOSED_ROWS, OPEN_ROWS, UPCOMING_ROWS, Item, Obligation, Party, Plan, PlanVersion
from nok_workflow.store.statistics import analyze_if_stale

# The name of a step's final state in the Prefect UI: the item's state as a person says it.
LABELS = {
    "unscheduled": "Без срока", "done": "Выполнено", "cancelled": "Отменено", "escalated": "Эскалировано",
    "overdue": "Просрочено", "due_soon": "Срок скоро", "open": "Ожидает документ",
    "upcoming": "Не начато", "empty": "Нет обязательств",
}


@dataclass(frozen=True)
class Step:
    item_id: int
    key: str
    title: str
    kind: str
    depends_on: tuple[str, ...]  # keys of the items it waits for


@dataclass
class PlanContext:
    plan_id: str
    timezone: str
    coordinator: str
    steps: list[Step]
    policies: dict[str, Policy]  # by item identity
    identities: dict[int, str]
    parties: dict[str, dict[str, Any]]

    def today(self, now: dt.datetime) -> dt.date:
        return plan_day(now, self.timezone)


@dataclass
class ItemOutcome:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    queued: int = 0

    @property
    def message(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return f"{self.key}: {parts or 'нет обязательств'}; изменено {self.changed}, в очередь {self.queued}"


def prepare(engine: Engine, plan_id: str, now: dt.datetime | None = None, allow_past: bool = False) -> PlanContext:
    """Relative deadlines refreshed; the plan's steps in dependency order; its policies.

    With `now`, the run's day is checked against the plan's last run and recorded: a run at
    an earlier day is refused unless `allow_past` (then the plan's timeline restarts there).
    """
    with write_session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен")])
        if now is not None:
            plan.last_run_on = _run_day(plan, plan_day(now, plan.timezone), allow_past)
        refresh_relative(session, plan_id, now)
    # The steps' seeks are planned by the table's statistics: after a load or the runs before
    # this one changed a tenth of it, refreshed first (store/statistics.py).
    analyze_if_stale(engine)
    return plan_context(engine, plan_id)


# A plan version's parties and policies, built once per process: a region's plan has
# thousands of schools, and every step of every run needs them; a region has dozens of plans.
# Keyed by the version's content hash (both follow from the plan's text alone), so an
# amendment is never served stale ones.
_versions = VersionCache(256)


def plan_context(engine: Engine, plan_id: str) -> PlanContext:
    """The context of the plan's current version, as a step needs it (read-only).

    The items (a few rows) are read each time: their ids belong to this store. The parties
    and the policies are built once per process per version.
    """
    with Session(engine) as session:
        row = session.execute(
            select(Plan.timezone, Plan.coordinator, Plan.current_version, PlanVersion.sha256)
            .join(PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.version == Plan.current_version))
            .where(Plan.id == plan_id)).one_or_none()
        if row is None:
            raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен")])
        items = session.execute(select(Item).where(Item.plan_id == plan_id, Item.active)
                                .order_by(Item.position)).scalars().all()
        key = (plan_id, row.current_version, row.sha256)
        cached = _versions.get(key)
        if cached is None:
            parties = {p.id: {"kind": p.kind, "group": p.group_id, "escalates_to": p.escalates_to, "name": p.name}
                       for p in session.execute(select(Party.id, Party.kind, Party.group_id, Party.escalates_to,
                                                       Party.name).where(Party.plan_id == plan_id))}
    if cached is None:
        # The policies are the compiled version's own (not a copy): kept here too, so that a
        # step costs no lookup of the version's hash there.
        cached = _versions.put(key, (parties, current_plan(engine, plan_id, row.current_version).policies))
    parties, policies = cached
    by_ref = {i.key: i.key for i in items} | {i.identity: i.key for i in items}
    steps = [Step(i.id, i.key, i.title, i.kind,
                  tuple(dict.fromkeys(by_ref[d] for d in _deps(i) if d in by_ref))) for i in items]
    return PlanContext(plan_id, row.timezone, row.coordinator, _topological(steps), policies,
                       {i.id: i.identity for i in items}, parties)


def check_run_day(engine: Engine, plan_id: str, now: dt.datetime, allow_past: bool = False) -> None:
    """Refuse a run before the plan's last run day up front, before anything starts (read-only)."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is not None:
            _run_day(plan, plan_day(now, plan.timezone), allow_past)


def _run_day(plan: Plan, today: dt.date, allow_past: bool) -> dt.date:
    last = plan.last_run_on
    if last is not None and today < last and not allow_past:
        raise InputError([Problem("plan", 0, 0, (
            f"план «{plan.id}» уже выполнялся за {last:%d.%m.%Y}; запуск за {today:%d.%m.%Y} — в прошлом: "
            f"состояния пошли бы назад, а письма — с прошлой датой. Проверьте --now / NOK_NOW "
            f"(не раньше {last:%Y-%m-%d}) или, если это намеренно, добавьте --allow-past"))])
    return today if allow_past or last is None else max(last, today)


def _deps(item: Item) -> list[str]:
    refs = [clean_number(d) for d in item.depends_on]
    if item.relative and item.relative.get("after"):
        refs.append(item.relative["after"])
    return refs


def _topological(steps: list[Step]) -> list[Step]:
    """Plan order, but never a step before one it depends on (validation forbids cycles)."""
    done: set[str] = set()
    ordered: list[Step] = []
    pending = list(steps)
    while pending:
        progressed = False
        for step in list(pending):
            if all(d in done for d in step.depends_on):
                ordered.append(step)
                done.add(step.key)
                pending.remove(step)
                progressed = True
        if not progressed:  # defensive: an old plan version with a cycle runs in plan order
            ordered.extend(pending)
            break
    return ordered


# A run's steps go to threads. On SQLite they would take turns at the file's write lock by
# sleeping and polling (up to 100 ms a turn); a lock per store within the process hands over
# at once. Other processes still queue at the file's lock (BEGIN IMMEDIATE).
_sqlite_turns: dict[str, threading.Lock] = {}


def _turn(engine: Engine) -> threading.Lock | nullcontext:
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _sqlite_turns.setdefault(str(engine.url), threading.Lock())


def process_item(engine: Engine, context: PlanContext, item_id: int, now: dt.datetime) -> ItemOutcome:
    with _turn(engine):
        return _process_item(engine, context, item_id, now)


# The step's statements, built once: building and hashing them anew cost more than running
# them on a quiet day (1,200 steps a region).
_ob = Obligation.__table__.c
# The partial indexes' own conditions (store/models.py): SQLite uses a partial index only
# when the query's WHERE contains its condition term by term.
_OPEN = text(OPEN_ROWS)
_UPCOMING = text(UPCOMING_ROWS)
_CLOSED_FACT = text(f"({CLOSED_ROWS})")
# Status lists as literals: an expanding IN parameter is re-rendered on every execution.
_NOT_OVERDUE = "'cancelled', 'done', 'done_late', 'due_soon', 'open', 'upcoming', 'waived'"
_NOT_OVERDUE_IN = text(f"status IN ({_NOT_OVERDUE})")
_NOT_ESCALATED_IN = text(f"status IN ({_NOT_OVERDUE}, 'overdue')")
_DONE_IN = text("status IN ('done', 'done_late')")
_NOT_CLOSED_IN = text("status IN ('due_soon', 'escalated', 'open', 'overdue', 'upcoming')")
_ITEM = select(Item.key, Item.kind, Item.owners).where(Item.id == bindparam("item_id"))
_COLUMNS = (_ob.id, _ob.org_id, _ob.period, _ob.opens, _ob.due, _ob.state, _ob.completed_on, _ob.status, _ob.level)
_item = _ob.item_id == bindparam("item_id")
_today = bindparam("today")


def _part(*where: Any) -> Any:
    return select(*_COLUMNS).where(_item, *where)


def _cut(level: int) -> Any:
    return bindparam(f"cut{level}", type_=_ob.due.type)


@lru_cache(maxsize=16)
def _candidates(max_level: int) -> Any:
    """The obligations whose status, level or messages can change today: a UNION ALL of parts,
    each a seek in a partial index, so a step reads what is due, not every row of its item.

    Overdue obligations are read only where their cached level differs from the level their
    due date has today (`_cuts`): a level changes on the days a threshold is crossed, and
    re-reading the others every day only queued the same escalation again (dropped by the
    outbox's unique key)."""
    parts = [
        _part(_OPEN, _ob.due.between(_today, bindparam("until"))),  # reminders, due soon
        _part(_OPEN, _ob.due.is_(None)),  # unscheduled
        _part(_OPEN, _UPCOMING, _ob.opens <= _today),  # opened
        _part(_OPEN, _DONE_IN),  # reopened by a rejection
        _part(_CLOSED_FACT, _NOT_CLOSED_IN),  # closed since the last sweep
        # Due before today: newly overdue, or a cached level not the one of its due date.
        _part(_OPEN, _NOT_OVERDUE_IN, _ob.level == 0, _ob.due < _today),
        _part(_OPEN, _ob.status == "escalated", _ob.level == 0, _ob.due < _today),
    ]
    if max_level:
        # A level with a status that is not overdue (none of the sweep's making), as a seek per level.
        levels = text(f"level IN ({', '.join(str(lv) for lv in range(1, max_level + 1))})")
        parts.append(_part(_OPEN, _NOT_ESCALATED_IN, levels, _ob.due < _today))
        parts.append(_part(_OPEN, _ob.status == "overdue", _ob.level == 0, _ob.due <= _cut(1)))
    for level in range(1, max_level + 1):
        parts.append(_part(_OPEN, _ob.status == "escalated", _ob.level == level, _ob.due > _cut(level),
                           _ob.due < _today))
        if level < max_level:
            parts.append(_part(_OPEN, _ob.status == "escalated", _ob.level == level, _ob.due <= _cut(level + 1)))
    return union_all(*parts)


@lru_cache(maxsize=1024)
def _cuts(today: dt.date, after_days: tuple[int, ...], working_days: bool) -> dict[str, dt.date]:
    """For each level k (1-based), the latest due date that has reached it today: an overdue
    obligation is at level k or above exactly when due <= cut k (days late fall as due rises)."""
    cuts, day, late = {}, today - dt.timedelta(days=1), None
    for k, after in enumerate(sorted(after_days), start=1):
        while True:
            late = days_late(day, today, working_days) if late is None else late
            if late >= after:
                break
            late += is_working_day(day) if working_days else 1
            day -= dt.timedelta(days=1)
        cuts[f"cut{k}"] = day
    return cuts


# An item's statuses counted from the two partial indexes that hold all its rows (index only).
_COUNTS = union_all(*(select(_ob.status, func.count()).where(_item, cond).group_by(_ob.status)
                      for cond in (_OPEN, _CLOSED_FACT)))
_bumped = bindparam("bump", type_=Integer)
# A new status is a new calendar event (SEQUENCE, LAST-MODIFIED); a new level is not.
_UPDATE = (update(Obligation.__table__).where(_ob.id == bindparam("oid"))
           .values(status=bindparam("status"), level=bindparam("level"), revision=_ob.revision + _bumped,
                   changed_at=case((_bumped > 0, bindparam("at", type_=_ob.changed_at.type)),
                                   else_=_ob.changed_at)))


def _process_item(engine: Engine, context: PlanContext, item_id: int, now: dt.datetime) -> ItemOutcome:
    today = context.today(now)
    # An item an amendment retired since the run began goes by the plan's own policy.
    identity = context.identities.get(item_id, "")
    policy = context.policies.get(identity) or context.policies[""]
    # Most steps on most days change nothing and queue nothing: they learn it without the
    # write lock; a step with work does it again inside the write transaction, on what the
    # store holds then.
    with engine.connect() as conn:
        if not _work(conn, context, item_id, today, now, policy, probe=True):
            step = next((s for s in context.steps if s.item_id == item_id), None)
            item = step or conn.execute(_ITEM, {"item_id": item_id}).one()
            counts = _counts(conn, item_id)
            return ItemOutcome(item.key, _label(item.kind, counts), counts, 0, 0)
    with write_session(engine) as session:
        conn = session.connection()
        item, changes, transitions, messages = _work(conn, context, item_id, today, now, policy)
        if changes:
            conn.execute(_UPDATE, changes)
        queued = queue(session, messages)
        counts = _counts(conn, item_id)
        if changes:
            audit.record(session, actor="sweep", action="status.change", plan_id=context.plan_id, at=now,
                         details={"item": item.key, "transitions": dict(transitions), "day": today.isoformat()})
    return ItemOutcome(item.key, _label(item.kind, counts), counts, len(changes), queued)


def _counts(conn: Any, item_id: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for status, n in conn.execute(_COUNTS, {"item_id": item_id}):
        counts[status] += n
    return dict(counts)


def _work(conn: Any, context: PlanContext, item_id: int, today: dt.date, now: dt.datetime,
          policy: Policy, probe: bool = False) -> Any:
    """What the step would change and queue: its item, the changes, their transitions, the
    messages. With `probe`, only whether there is anything to change or queue."""
    max_level = len(policy.levels)
    # How far ahead a reminder can fall: in working days it reaches further back than the
    # same number of calendar days (weekends, and May or New Year holidays).
    ahead = policy.due_soon_days * 2 + 10 if policy.reminder_working_days else policy.due_soon_days
    item = None if probe else conn.execute(_ITEM, {"item_id": item_id}).one()
    params = {"item_id": item_id, "today": today, "until": today + dt.timedelta(days=ahead),
              **_cuts(today, tuple(lv.after_days for lv in policy.levels), policy.escalation_working_days)}
    rows = conn.execute(_candidates(max_level), params)
    # The parts overlap (an upcoming row due soon): each row once, in the item's row order. A
    # probe stops at the first row with work, so it needs neither.
    candidates = rows if probe else sorted({row.id: row for row in rows}.values(),
                                           key=lambda r: (r.period, r.org_id))
    changes, transitions, messages = [], Counter(), []
    # Obligations of one item share a handful of dates: each status and reminder once per date.
    statuses: dict[tuple, Any] = {}
    reminders: dict[dt.date | None, int | None] = {}
    for row in candidates:
        fact = (row.opens, row.due, row.state, row.completed_on)
        st = statuses.get(fact)
        if st is None:
            st = statuses[fact] = status_of(ObligationFact(row.opens, row.due, row.state), row.completed_on,
                                            today, policy)
        if (st.status, st.level) != (row.status, row.level):
            if probe:
                rows.close()
                return True
            changes.append({"oid": row.id, "status": st.status, "level": st.level,
                            "bump": int(st.status != row.status), "at": now})
            transitions[f"{row.status}→{st.status}"] += 1
        if st.status in CLOSED:
            continue
        if row.due in reminders:
            days = reminders[row.due]
        else:
            days = reminders[row.due] = reminder_due(row.due, today, policy)
        if probe:
            if days is not None or st.level:
                rows.close()
                return True
            continue
        if days is not None:
            # The policy's first reminder brings a new deadline: the digest attaches it as .ics.
            messages += [_message(context, item, row, "reminder", days, who, today, now,
                                  new=days == policy.reminder_days[0])
                         for who in _recipients(context, item, row, "owners")]
        if st.level:
            messages += _escalations(context, item, row, escalations_owed(policy, st.level), today, now)
    return False if probe else (item, changes, transitions, messages)


def _label(kind: str, counts: dict[str, int]) -> str:
    if kind == "unscheduled":
        return LABELS["unscheduled"]
    if not counts:
        return LABELS["empty"]
    if set(counts) <= {"cancelled"}:
        return LABELS["cancelled"]
    if set(counts) <= CLOSED:
        return LABELS["done"]
    for status in ("escalated", "overdue", "due_soon", "open"):
        if counts.get(status):
            return LABELS[status]
    return LABELS["upcoming"]


def _recipients(context: PlanContext, item: Any, row: Any, target: str) -> list[str]:
    owners = obligation_owners(row.org_id, item.owners)
    if target == "owners":
        return owners
    if target == "coordinator":
        return [context.coordinator]
    if target == "escalates_to":
        result = []
        for owner in owners:
            party = context.parties.get(owner, {})
            group = context.parties.get("@" + (party.get("group") or ""), {})
            # Nobody above this owner: the coordinator answers for the plan.
            result.append(party.get("escalates_to") or group.get("escalates_to") or context.coordinator)
        return list(dict.fromkeys(result))
    return [target]


def _escalations(context: PlanContext, item: Any, row: Any, owed: tuple[tuple[int, str], ...],
                 today: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """The escalations owed, one per person: the highest level that reaches them (an owner who
    is also whom the owners answer to hears once a day, not once per level)."""
    steps: dict[str, int] = {}
    for step, target in owed:  # in level order: a later level replaces an earlier one
        for who in _recipients(context, item, row, target):
            steps[who] = step
    return [_message(context, item, row, "escalation", step, who, today, now) for who, step in steps.items()]


def _message(context: PlanContext, item: Any, row: Any, kind: str, step: int, who: str,
             today: dt.date, now: dt.datetime, new: bool = False) -> dict[str, Any]:
    return {"key": f"ob:{row.id}:{kind}:{step}:{who}", "plan_id": context.plan_id, "obligation_id": row.id,
            "kind": kind, "step": step, "recipient": who, "day": today, "created_at": now,
            "status": "queued", "attempts": 0, "next_attempt_at": now,
            "details": {"item": item.key, "period": row.period, "due": row.due.isoformat() if row.due else None,
                        "new": new}}
