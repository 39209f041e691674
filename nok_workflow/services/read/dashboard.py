"""The coordinator's dashboard as data: progress by section, what is late, mail that failed.

Counts come from the statuses the daily sweep caches on each obligation, aggregated in SQL.
A computed dashboard is kept in memory per plan until its change stamp moves: every load,
evidence, review, waiver and status change writes an audit event, so the newest event's id
says when the store changed; mail failures and the SMTP verdict write none, so the stamp
adds their counts; «days late» depends on the plan's day, so that is in the key too. An
unchanged store costs one small query per page.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, exists, func, select, text
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.expand import obligation_owners
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.directory import count_missing
from nok_workflow.status import days_late
from nok_workflow.store.fresh import in_flight_sql, remembered
from nok_workflow.store.models import Campaign, Evidence, Item, Mail, Obligation, Outbox, Party, Plan, ServiceHealth
from nok_workflow.text import MESSENGERS

TOP = 50  # rows of each list; the rest is «ещё N»
# The order statuses are shown in: what needs attention first.
ORDER = ("escalated", "overdue", "due_soon", "open", "upcoming", "done", "done_late", "waived", "cancelled")
FAILING_MAIL = ("failed", "retry")


# --- the dashboard ---------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int] = field(default_factory=dict)

    def get(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        """What is to be done: neither cancelled nor waived."""
        return sum(n for s, n in self.by_status.items() if s not in ("cancelled", "waived"))

    @property
    def done(self) -> int:
        return self.get("done") + self.get("done_late")

    @property
    def late(self) -> int:
        return self.get("overdue") + self.get("escalated")

    def shown(self) -> list[tuple[str, int]]:
        return [(s, self.by_status[s]) for s in ORDER if self.by_status.get(s)]

    def plus(self, other: Counts) -> Counts:
        merged = dict(self.by_status)
        for s, n in other.by_status.items():
            merged[s] = merged.get(s, 0) + n
        return Counts(merged)


@dataclass(frozen=True)
class SectionRow:
    number: str
    title: str
    counts: Counts


@dataclass(frozen=True)
class LateRow:
    obligation_id: int
    item: str
    title: str
    period: str
    who: str  # the organisation, or the item's owners
    due: dt.date
    days_late: int
    working_days: bool  # days late counted in working days (the item's escalation policy)
    status: str
    level: int


@dataclass(frozen=True)
class FailedMail:
    address: str
    name: str
    day: dt.date
    status: str
    attempts: int
    error: str | None

    @property
    def shown_address(self) -> str:
        """An e-mail address as it is; a messenger's «telegram:42» as «Telegram, чат 42»."""
        channel, _, chat = self.address.partition(":")
        return f"{MESSENGERS[channel]}, чат {chat}" if channel in MESSENGERS and chat else self.address


@dataclass(frozen=True)
class FailedRow:
    recipient: str
    kind: str
    item: str | None
    error: str | None


@dataclass(frozen=True)
class Dashboard:
    plan_id: str
    title: str
    timezone: str
    version: int
    today: dt.date
    last_run_on: dt.date | None
    review_required: bool
    totals: Counts
    sections: list[SectionRow]
    item_counts: dict[int, Counts]  # by item id
    escalated: list[LateRow]
    escalated_total: int
    overdue: list[LateRow]
    overdue_total: int
    failed_mail: list[FailedMail]
    failed_mail_total: int
    failed_rows: list[FailedRow]
    failed_rows_total: int
    smtp_problems: list[tuple[str, dt.datetime]]
    run_problem: tuple[str, dt.datetime] | None  # the plan's last scheduled run failed or never ran
    pending_reviews: int
    no_address: int = 0  # parties without an email address (services/read/directory.py)
    public: bool = False  # the plan's public progress page is open (services/commands/publication.py)
    public_campaign: str | None = None  # …or open through its campaign's: the campaign's title


# Keyed by store and plan: a server has one store, but a test run opens many.
_cache: dict[tuple[str, str], tuple[tuple, Dashboard]] = {}
STAMP_TTL = 1.0  # seconds another process's change may take to show (this process's: at once)
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_lock = threading.Lock()


# Plain SQL, built once: the stamp is read on every page view, and building the statement
# (SQLAlchemy's cache key for nine subqueries) would cost more than running it.
_STAMP = """
SELECT (SELECT max(id) FROM audit_event),
       (SELECT timezone FROM plan WHERE id = :plan),
       (SELECT last_run_on FROM plan WHERE id = :plan),
       (SELECT count(*) FROM mail WHERE status IN ('failed', 'retry')),
       (SELECT max(id) FROM mail WHERE status IN ('failed', 'retry')),
       (SELECT sum(attempts) FROM mail WHERE status IN ('failed', 'retry')),
       (SELECT count(*) FROM outbox WHERE status = 'failed' AND plan_id = :plan),
       (SELECT count(*) FROM service_health WHERE NOT ok),
       (SELECT max(since) FROM service_health),
       (SELECT run_problem FROM plan WHERE id = :plan),
       {in_flight}
"""
_stamps: dict[str, Any] = {}  # by dialect


def _stamp(session: Session, plan_id: str) -> tuple | None:
    """What changes when the dashboard would: one round trip of index lookups."""
    dialect = session.get_bind().dialect.name
    if dialect not in _stamps:
        _stamps[dialect] = text(_STAMP.format(in_flight=in_flight_sql(dialect)))
    row = session.execute(_stamps[dialect], {"plan": plan_id}).one()
    return None if row[1] is None else tuple(row)


def cached(engine: Engine, plan_id: str, now: dt.datetime) -> Dashboard | None:
    """The dashboard from memory when the store has not changed since; None otherwise (then
    `dashboard` computes it). One indexed query, and not even that while this process has
    written nothing for STAMP_TTL seconds (store/fresh.py): cheap enough for an event loop."""

    def read() -> tuple | None:
        with Session(engine) as session:
            return _stamp(session, plan_id)

    stamp = remembered(("dashboard-stamp", str(engine.url), plan_id), STAMP_TTL, read)
    if stamp is None:
        return None
    hit = _cache.get((str(engine.url), plan_id))
    return hit[1] if hit is not None and hit[0] == (stamp, plan_day(now, stamp[1])) else None


def dashboard(engine: Engine, plan_id: str, now: dt.datetime) -> Dashboard:
    """The plan's dashboard at `now`, from memory while the store has not changed."""
    with Session(engine) as session:
        stamp = _stamp(session, plan_id)
    if stamp is None:
        raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен")])
    key = (stamp, plan_day(now, stamp[1]))
    slot = (str(engine.url), plan_id)
    hit = _cache.get(slot)
    if hit is not None and hit[0] == key:
        return hit[1]
    with _locks_lock:
        lock = _locks.setdefault(slot, threading.Lock())
    with lock:  # fifty clients at a cold cache compute it once, not fifty times
        hit = _cache.get(slot)
        if hit is not None and hit[0] == key:
            return hit[1]
        made = _compute(engine, plan_id, key[1])
        _cache[slot] = (key, made)
        return made


def _compute(engine: Engine, plan_id: str, today: dt.date) -> Dashboard:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        campaign = session.get(Campaign, plan.campaign_id) if plan.campaign_id else None
        current = current_plan(engine, plan_id, plan.current_version)
        items = {r.id: r for r in session.execute(
            select(Item.id, Item.key, Item.identity, Item.title, Item.owners).where(Item.plan_id == plan_id))}
        item_counts: dict[int, dict[str, int]] = {}
        for item_id, status, n in session.execute(
                select(Obligation.item_id, Obligation.status, func.count()).where(Obligation.plan_id == plan_id)
                .group_by(Obligation.item_id, Obligation.status)):
            item_counts.setdefault(item_id, {})[status] = n
        late = {status: _late_rows(session, plan_id, status) for status in ("escalated", "overdue")}
        names = party_names(session, plan_id, {o for rows, _ in late.values() for r in rows
                                          for o in obligation_owners(r.org_id, items[r.item_id].owners)})
        pending = session.execute(
            select(func.count()).select_from(Evidence).join(Obligation, Obligation.id == Evidence.obligation_id)
            .where(Obligation.plan_id == plan_id, Evidence.review == "pending")).scalar_one()
        mail, mail_total = _failed_mail(session, plan_id)
        rows, rows_total = _failed_rows(session, plan_id)
        no_address = count_missing(session, plan_id)
        smtp = [(h.message or "почтовый сервер не отвечает", h.since) for h in session.execute(
            select(ServiceHealth).where(ServiceHealth.ok.is_(False))).scalars()]

    per_item = {i: Counts(c) for i, c in item_counts.items()}
    by_section: dict[int, Counts] = {}
    for item_id, counts in per_item.items():
        index = current.section_index(items[item_id].key)
        by_section[index] = by_section.get(index, Counts()).plus(counts)
    sections = [SectionRow(*(current.sections[i] if i < len(current.sections) else ("", "Исключённые пункты")),
                           by_section[i]) for i in sorted(by_section)]
    totals = Counts()
    for counts in per_item.values():
        totals = totals.plus(counts)

    def late_row(ob: Any) -> LateRow:
        item = items[ob.item_id]
        who = ", ".join(names.get(o, o) for o in obligation_owners(ob.org_id, item.owners)) or "—"
        policy = current.policy(item.identity)
        return LateRow(ob.id, item.key, item.title, ob.period, who, ob.due,
                       days_late(ob.due, today, policy.escalation_working_days), policy.escalation_working_days,
                       ob.status, ob.level)

    shown = {status: [late_row(ob) for ob in rows] for status, (rows, _) in late.items()}
    return Dashboard(
        plan_id=plan_id, title=plan.title, timezone=plan.timezone, version=plan.current_version, today=today,
        last_run_on=plan.last_run_on, review_required=plan.review_required, totals=totals, sections=sections,
        item_counts=per_item,
        escalated=shown["escalated"], escalated_total=late["escalated"][1],
        overdue=shown["overdue"], overdue_total=late["overdue"][1],
        failed_mail=mail, failed_mail_total=mail_total, failed_rows=rows, failed_rows_total=rows_total,
        smtp_problems=smtp, pending_reviews=pending, no_address=no_address,
        run_problem=(plan.run_problem, plan.run_problem_since) if plan.run_problem else None,
        public=plan.public, public_campaign=campaign.title if campaign is not None and campaign.public else None,
    )


def _late_rows(session: Session, plan_id: str, status: str) -> tuple[list[Any], int]:
    # Open and still marked late: the partial index on open obligations by due date serves it.
    where = (Obligation.plan_id == plan_id, Obligation.state == "active", Obligation.completed_on.is_(None),
             Obligation.status == status, Obligation.due.is_not(None))
    total = session.execute(select(func.count()).select_from(Obligation).where(*where)).scalar_one()
    if not total:
        return [], 0
    rows = session.execute(select(Obligation.id, Obligation.item_id, Obligation.period, Obligation.org_id,
                                  Obligation.due, Obligation.status, Obligation.level)
                           .where(*where).order_by(Obligation.level.desc(), Obligation.due, Obligation.id)
                           .limit(TOP)).all()
    return rows, total


def party_names(session: Session, plan_id: str, ids: set[str]) -> dict[str, str]:
    """Names of the plan's people, units and organisations among `ids`."""
    if not ids:
        return {}
    return dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id,
                                                                   Party.id.in_(sorted(ids)))).all())


def plan_party_names(engine: Engine, plan_id: str, ids: set[str]) -> dict[str, str]:
    """party_names for a page: the names of who acted (audit) or subscribed (calendars)."""
    if not ids:
        return {}
    with Session(engine) as session:
        return party_names(session, plan_id, ids)


def _failed_mail(session: Session, plan_id: str) -> tuple[list[FailedMail], int]:
    """Digests that failed or wait for a retry and list something of this plan."""
    of_plan = exists(select(Outbox.id).where(Outbox.mail_id == Mail.id, Outbox.plan_id == plan_id))
    where = (Mail.status.in_(FAILING_MAIL), of_plan)
    total = session.execute(select(func.count()).select_from(Mail).where(*where)).scalar_one()
    if not total:
        return [], 0
    rows = session.execute(select(Mail).where(*where).order_by(Mail.day.desc(), Mail.id.desc())
                           .limit(TOP)).scalars()
    return [FailedMail(m.address, m.name, m.day, m.status, m.attempts, m.error) for m in rows], total


def _failed_rows(session: Session, plan_id: str) -> tuple[list[FailedRow], int]:
    """Messages that never became a mail: the recipient has no address or is unknown."""
    where = (Outbox.status == "failed", Outbox.plan_id == plan_id, Outbox.mail_id.is_(None))
    total = session.execute(select(func.count()).select_from(Outbox).where(*where)).scalar_one()
    if not total:
        return [], 0
    rows = session.execute(select(Outbox).where(*where).order_by(Outbox.id.desc()).limit(TOP)).scalars().all()
    names = party_names(session, plan_id, {r.recipient for r in rows})
    return [FailedRow(names.get(r.recipient, r.recipient), r.kind, r.details.get("item"), r.last_error)
            for r in rows], total


def plan_cards(engine: Engine, plan_ids: list[str], now: dt.datetime) -> list[Dashboard]:
    """The home page: each of a coordinator's plans, from the same cached dashboards."""
    return [dashboard(engine, plan_id, now) for plan_id in plan_ids]
