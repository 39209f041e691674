"""A plan's progress report for a quarter (or the year to date), read from the store.

Counting is done in SQL, grouped by item and by organisation, so a region's plan of
hundreds of thousands of obligations costs a handful of queries; obligations are read one
by one only for items with a few of them in the period (`DETAIL_MAX`), with their evidence.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, and_, case, func, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.plan.compiled import ALL_OF_GROUP
from nok_workflow.problems import InputError, Problem
from nok_workflow.reports.model import (
    DETAIL_MAX,
    Counts,
    EvidenceRef,
    ItemLine,
    ObligationLine,
    PartyLine,
    Period,
    Report,
    SectionLine,
    days_late,
    item_status,
    outcome,
    OUTCOME_WORDS,
    previous_quarter,
    quarter_of,
)
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.party_view import period_label
from nok_workflow.store.models import NO_ORG, Evidence, Item, Obligation, Party, Plan

ob = Obligation
ISSUED = "report.issue"  # the audit action saying a quarter's report was issued (services/jobs/quarterly)
_GONE = ob.state.in_(("waived", "cancelled"))


def report_quarters(engine: Engine, plan_id: str, now: dt.datetime) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """The quarters a report can be made for (the plan's period, and any deadline beyond it,
    like «до 5 января» of the year after) and the one shown first: the last closed quarter,
    the one a report is written for."""
    plan = current_plan(engine, plan_id).loaded.compiled.plan
    with Session(engine) as session:
        first_due, last_due = session.execute(select(func.min(Obligation.due), func.max(Obligation.due))
                                              .where(Obligation.plan_id == plan_id)).one()
    start = min(d for d in (plan.period.start, first_due) if d)
    end = max(d for d in (plan.period.end, last_due) if d)
    year, q = quarter_of(start)
    choices = []
    while (year, q) <= quarter_of(end):
        choices.append((year, q))
        year, q = (year, q + 1) if q < 4 else (year + 1, 1)
    chosen = previous_quarter(plan_day(now, plan.timezone))
    chosen = min(max(chosen, choices[0]), choices[-1])  # before or after the plan: its first or last
    return choices, chosen


def _count_columns(as_of: dt.date) -> tuple[Any, ...]:
    """count and one sum per outcome, as `model.outcome` decides it, for GROUP BY queries."""
    live = ~_GONE
    done = live & ob.completed_on.is_not(None)
    open_ = live & ob.completed_on.is_(None)

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (func.count(), total(done & (ob.completed_on <= ob.due)), total(done & (ob.completed_on > ob.due)),
            total(open_ & (ob.due < as_of)), total(open_ & (ob.due >= as_of)), total(_GONE))


def _counts(row: Any) -> Counts:
    n, on_time, late, not_done, in_progress, cancelled = row
    return Counts(total=n, on_time=on_time, late=late, not_done=not_done, in_progress=in_progress,
                  cancelled=cancelled)


def build_report(engine: Engine, plan_id: str, period: Period, *, now: dt.datetime, base_url: str) -> Report:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("--plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
        compiled = current_plan(engine, plan_id)
        source = compiled.loaded.compiled.plan
        as_of = plan_day(now, plan.timezone)
        in_period = (ob.plan_id == plan_id, ob.due.between(period.start, period.end))
        counted = _count_columns(as_of)

        per_item = {item_id: (_counts(rest), newest) for item_id, newest, *rest in session.execute(
            select(ob.item_id, func.max(ob.completed_on), *counted).where(*in_period).group_by(ob.item_id)).all()}
        items = {i.id: i for i in session.execute(select(Item).where(Item.id.in_(list(per_item)))).scalars()}
        due_dates: dict[int, list[dt.date]] = defaultdict(list)
        for item_id, due in session.execute(select(ob.item_id, ob.due).where(*in_period).distinct()
                                            .order_by(ob.item_id, ob.due)):
            due_dates[item_id].append(due)
        worst_open = dict(session.execute(
            select(ob.item_id, func.min(ob.due)).where(*in_period, ~_GONE, ob.completed_on.is_(None), ob.due < as_of)
            .group_by(ob.item_id)).all())
        small = [i for i, (c, _) in per_item.items() if c.total <= DETAIL_MAX]
        lines = _obligation_lines(session, plan_id, small, in_period, as_of, base_url)

        names = dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())
        names.update({ALL_OF_GROUP + g.id: g.name for g in source.groups})
        organisations = [PartyLine(id=org, name=names.get(org, org), counts=_counts(rest))
                         for org, *rest in session.execute(
                             select(ob.org_id, *counted).where(*in_period, ob.org_id != NO_ORG)
                             .group_by(ob.org_id).order_by(ob.org_id)).all()]

    sections: dict[int, list[ItemLine]] = defaultdict(list)
    by_owner: dict[str, Counts] = {}
    for item in sorted(items.values(), key=lambda i: i.position):
        counts, newest = per_item[item.id]
        mine = lines.get(item.id, [])
        single = mine[0].outcome if counts.total == 1 and mine else None
        late_days = [d for d in (ln.days_late for ln in mine) if d is not None]
        if not mine and item.id in worst_open:
            late_days.append((as_of - worst_open[item.id]).days)
        sections[compiled.section_index(item.key)].append(ItemLine(
            number=item.key, title=item.title, deadline=item.deadline_text, due_dates=due_dates[item.id],
            owners=[names.get(o, o) for o in item.owners], results=list(item.results), counts=counts,
            status=item_status(counts, single), outcome=single, completed_on=newest if counts.done else None,
            days_late=max(late_days, default=None),
            evidence=[e for ln in mine for e in ln.evidence] if single else [],
            obligations=mine if not single else []))
        for owner in item.owners:
            by_owner[owner] = by_owner[owner] + counts if owner in by_owner else counts

    section_lines = []
    for index in sorted(sections):
        number, title = compiled.sections[index] if index < len(compiled.sections) else ("", "Исключённые пункты")
        its = sections[index]
        section_lines.append(SectionLine(number=number, title=title, items=its,
                                         counts=sum((i.counts for i in its[1:]), its[0].counts)))
    totals = sum((s.counts for s in section_lines[1:]), section_lines[0].counts) if section_lines else Counts(total=0)
    owners = sorted((PartyLine(id=o, name=names.get(o, o), counts=c) for o, c in by_owner.items()),
                    key=lambda p: p.name)
    return Report(plan_id=plan_id, plan_title=plan.title, approved_by=source.approved_by,
                  approval_act=source.approval_act, coordinator=names.get(plan.coordinator, plan.coordinator),
                  period=period, as_of=as_of, generated_at=now.astimezone(dt.UTC).replace(microsecond=0),
                  totals=totals, sections=section_lines, owners=owners, organisations=organisations)


def _obligation_lines(session: Session, plan_id: str, item_ids: list[int], in_period: tuple, as_of: dt.date,
                      base_url: str) -> dict[int, list[ObligationLine]]:
    """One line per obligation of the items with few of them, with the evidence that counts
    (not rejected), in due-date order."""
    if not item_ids:
        return {}
    org = Party
    rows = session.execute(
        select(ob.id, ob.item_id, ob.due, ob.period, ob.state, ob.completed_on, org.name)
        .outerjoin(org, and_(org.plan_id == ob.plan_id, org.id == ob.org_id))
        .where(*in_period, ob.item_id.in_(item_ids)).order_by(ob.item_id, ob.due, org.name)).all()
    evidence: dict[int, list[EvidenceRef]] = defaultdict(list)
    for e in session.execute(select(Evidence).where(Evidence.obligation_id.in_([r.id for r in rows]),
                                                    Evidence.review != "rejected")
                             .order_by(Evidence.document_date, Evidence.id)).scalars():
        file_url = f"{base_url.rstrip('/')}/plans/{plan_id}/evidence/{e.id}/file"
        evidence[e.obligation_id].append(EvidenceRef(
            name=e.file_name or e.url or f"документ №{e.id}", sha256=e.sha256[:12] if e.sha256 else None,
            url=e.url if e.url and not e.file_name else file_url, document_date=e.document_date))
    found: dict[int, list[ObligationLine]] = defaultdict(list)
    for r in rows:
        kind = outcome(r.state, r.completed_on, r.due, as_of)
        found[r.item_id].append(ObligationLine(
            due=r.due, period=period_label(r.period), organisation=r.name, outcome=kind, status=OUTCOME_WORDS[kind],
            completed_on=r.completed_on if kind in ("on_time", "late") else None,
            days_late=days_late(kind, r.completed_on, r.due, as_of), evidence=evidence.get(r.id, [])))
    return found
