"""The daily work of a plan, item by item, in bulk: statuses, reminders, escalations.

`process_item` is what one step of the plan flow does. It touches only the obligations
whose status can change today (near their due date, newly opened, reopened, or closed
since the last sweep), so a plan of a hundred thousand obligations costs a few queries.
Messages are queued as outbox rows with unique keys: running the same day twice, or two
sweeps at once, never queues a message twice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Integer, and_, bindparam, case, func, or_, select, update
from sqlmodel import Session

from nok_workflow.clock import local_date
from nok_workflow.expand import obligation_owners
from nok_workflow.plan.compiled import clean_number
from nok_workflow.policy import Policy
from nok_workflow.problems import InputError, Problem
from nok_workflow.reminders import escalation_targets, reminder_due
from nok_workflow.services import audit
from nok_workflow.services.obligations import plan_policies
from nok_workflow.services.outbox import queue
from nok_workflow.services.relative import refresh_relative
from nok_workflow.status import CLOSED, ObligationFact, status_of
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Item, Obligation, Party, Plan

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
        return local_date(now, self.timezone)


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
            plan.last_run_on = _run_day(plan, local_date(now, plan.timezone), allow_past)
        refresh_relative(session, plan_id, now)
        items = session.execute(select(Item).where(Item.plan_id == plan_id, Item.active)
                                .order_by(Item.position)).scalars().all()
        policies = plan_policies(session, [plan_id])
        parties = {p.id: {"kind": p.kind, "group": p.group_id, "escalates_to": p.escalates_to, "name": p.name}
                   for p in session.execute(select(Party).where(Party.plan_id == plan_id)).scalars()}
        coordinator, timezone = plan.coordinator, plan.timezone
    by_ref = {i.key: i.key for i in items} | {i.identity: i.key for i in items}
    steps = [Step(i.id, i.key, i.title, i.kind,
                  tuple(dict.fromkeys(by_ref[d] for d in _deps(i) if d in by_ref))) for i in items]
    return PlanContext(plan_id, timezone, coordinator, _topological(steps),
                       {identity: pol for (pid, identity), pol in policies.items()},
                       {i.id: i.identity for i in items}, parties)


def check_run_day(engine: Engine, plan_id: str, now: dt.datetime, allow_past: bool = False) -> None:
    """Refuse a run before the plan's last run day up front, before anything starts (read-only)."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is not None:
            _run_day(plan, local_date(now, plan.timezone), allow_past)


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


def process_item(engine: Engine, context: PlanContext, item_id: int, now: dt.datetime) -> ItemOutcome:
    today = context.today(now)
    identity = context.identities[item_id]
    policy = context.policies.get(identity) or context.policies[""]
    max_level = len(policy.levels)
    # How far ahead a reminder can fall: in working days it reaches further back than the
    # same number of calendar days (weekends, and May or New Year holidays).
    ahead = policy.due_soon_days * 2 + 10 if policy.reminder_working_days else policy.due_soon_days
    with write_session(engine) as session:
        item = session.get(Item, item_id)
        ob = Obligation
        open_rows = (ob.state == "active") & ob.completed_on.is_(None)
        candidates = session.execute(select(ob).where(ob.item_id == item_id, or_(
            and_(open_rows, ob.due.between(today, today + dt.timedelta(days=ahead))),
            and_(open_rows, ob.due < today, or_(ob.status.notin_(("overdue", "escalated")), ob.level < max_level)),
            and_(open_rows, ob.due.is_(None)),
            and_(open_rows, ob.status == "upcoming", ob.opens <= today),
            and_(ob.status.notin_(tuple(CLOSED)), or_(ob.completed_on.is_not(None), ob.state != "active")),
            and_(open_rows, ob.status.in_(("done", "done_late"))),  # reopened by a rejection
        ))).scalars().all()
        changes, transitions, messages = [], Counter(), []
        for row in candidates:
            st = status_of(ObligationFact(row.opens, row.due, row.state), row.completed_on, today, policy)
            if (st.status, st.level) != (row.status, row.level):
                changes.append({"oid": row.id, "status": st.status, "level": st.level,
                                "bump": int(st.status != row.status), "at": now})
                transitions[f"{row.status}→{st.status}"] += 1
            if st.status in CLOSED:
                continue
            if (days := reminder_due(row.due, today, policy)) is not None:
                # The policy's first reminder brings a new deadline: the digest attaches it as .ics.
                messages += _messages(context, item, row, "reminder", days, "owners", today, now,
                                      new=days == policy.reminder_days[0])
            if st.level:
                target = escalation_targets(policy, st.level)
                messages += _messages(context, item, row, "escalation", st.level, target, today, now)
        if changes:
            table = Obligation.__table__
            # A new status is a new calendar event (SEQUENCE, LAST-MODIFIED); a new level is not.
            bumped = bindparam("bump", type_=Integer)
            session.execute(update(table).where(table.c.id == bindparam("oid"))
                            .values(status=bindparam("status"), level=bindparam("level"),
                                    revision=table.c.revision + bumped,
                                    changed_at=case((bumped > 0, bindparam("at", type_=table.c.changed_at.type)),
                                                    else_=table.c.changed_at)), changes)
        queued = queue(session, messages)
        counts = dict(session.execute(select(ob.status, func.count()).where(ob.item_id == item_id)
                                      .group_by(ob.status)).all())
        if changes:
            audit.record(session, actor="sweep", action="status.change", plan_id=context.plan_id, at=now,
                         details={"item": item.key, "transitions": dict(transitions), "day": today.isoformat()})
    return ItemOutcome(item.key, _label(item.kind, counts), counts, len(changes), queued)


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


def _recipients(context: PlanContext, item: Item, row: Obligation, target: str) -> list[str]:
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


def _messages(context: PlanContext, item: Item, row: Obligation, kind: str, step: int, target: str | None,
              today: dt.date, now: dt.datetime, new: bool = False) -> list[dict[str, Any]]:
    if target is None:
        return []
    return [{"key": f"ob:{row.id}:{kind}:{step}:{who}", "plan_id": context.plan_id, "obligation_id": row.id,
             "kind": kind, "step": step, "recipient": who, "day": today, "created_at": now,
             "status": "queued", "attempts": 0, "next_attempt_at": now,
             "details": {"item": item.key, "period": row.period, "due": row.due.isoformat() if row.due else None,
                         "new": new}}
            for who in _recipients(context, item, row, target)]


def sweep_plan(engine: Engine, plan_id: str, now: dt.datetime, allow_past: bool = False) -> list[ItemOutcome]:
    """The plan flow's work without Prefect (a direct run), in the same order."""
    context = prepare(engine, plan_id, now, allow_past)
    return [process_item(engine, context, step.item_id, now) for step in context.steps]
