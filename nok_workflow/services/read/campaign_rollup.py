"""A campaign's roll-up read from the store: every plan of the campaign, its measures done, done
late, overdue and open, in all and by criterion, and its last progress report.

A fixed handful of queries whatever the campaign's size: the campaign and its plans, one
GROUP BY over all their obligations (a row per measure), the report events, and the plans'
current versions (compiled once per process) for each section's criterion."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Engine, case, func, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.problems import InputError, Problem
from nok_workflow.reports.model import parse_quarter, report_period
from nok_workflow.reports.rollup_model import OrganisationLine, Progress, Rollup
from nok_workflow.services.read.compiled_plans import current_plans
from nok_workflow.services.read.report import ISSUED
from nok_workflow.store.models import AuditEvent, Campaign, Item, Obligation, Party, Plan

ob = Obligation


def campaign_owner(engine: Engine, campaign_id: str) -> str | None:
    with Session(engine) as session:
        return session.execute(select(Campaign.owner).where(Campaign.id == campaign_id)).scalar()


def _measure(live: int, done: int, late: int, first_open: dt.date | None, as_of: dt.date) -> Progress:
    if done == live:
        return Progress(total=1, done=1, done_late=1 if late else 0)
    if first_open is not None and first_open < as_of:
        return Progress(total=1, overdue=1)
    return Progress(total=1, open=1)


def build_rollup(engine: Engine, campaign_id: str, now: dt.datetime) -> Rollup:
    live = ob.state.not_in(("waived", "cancelled"))
    closed = live & ob.completed_on.is_not(None)
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise InputError([Problem("--campaign", 0, 0, f"кампании «{campaign_id}» нет")])
        plans = session.execute(
            select(Plan.id, Plan.title, Plan.timezone, Party.name).outerjoin(
                Party, (Party.plan_id == Plan.id) & (Party.id == Plan.organisation_id))
            .where(Plan.campaign_id == campaign_id)).all()
        per_item = session.execute(
            select(ob.plan_id, Item.key,
                   func.sum(case((live, 1), else_=0)), func.sum(case((closed, 1), else_=0)),
                   func.sum(case((closed & (ob.completed_on > ob.due), 1), else_=0)),
                   func.min(case((live & ob.completed_on.is_(None), ob.due), else_=None)))
            .join(Item, Item.id == ob.item_id).join(Plan, Plan.id == ob.plan_id)
            .where(Plan.campaign_id == campaign_id, Item.active.is_(True))
            .group_by(ob.plan_id, Item.key)).all()
        events = session.execute(
            select(AuditEvent.plan_id, AuditEvent.at, AuditEvent.details).join(Plan, Plan.id == AuditEvent.plan_id)
            .where(Plan.campaign_id == campaign_id, AuditEvent.action == ISSUED).order_by(AuditEvent.at)).all()
    compiled = current_plans(engine, [p.id for p in plans])
    last: dict[str, tuple[str, dt.date]] = {}
    zones = {p.id: p.timezone for p in plans}
    for plan_id, at, details in events:  # in time order: the last one stays
        quarter = details.get("quarter") or ""
        try:
            label = report_period(*parse_quarter(quarter.removesuffix("-YTD"))).label
        except InputError:
            label = quarter
        last[plan_id] = (label, plan_day(at if at.tzinfo else at.replace(tzinfo=dt.UTC), zones[plan_id]))
    progress: dict[str, Progress] = defaultdict(Progress)
    criteria: dict[str, dict[int, Progress]] = defaultdict(lambda: defaultdict(Progress))
    days = {p.id: plan_day(now, p.timezone) for p in plans}
    for plan_id, key, n_live, n_done, n_late, first_open, in per_item:
        if not n_live:
            continue  # waived or removed: not a measure any more
        one = _measure(n_live, n_done, n_late, first_open, days[plan_id])
        current = compiled[plan_id]
        section = current.loaded.compiled.plan.sections[current.section_index(key)] \
            if current.section_index(key) < len(current.sections) else None
        criterion = (section.criterion or 0) if section is not None else 0
        progress[plan_id] += one
        criteria[plan_id][criterion] += one
    lines = [OrganisationLine(plan_id=p.id, plan_title=p.title, organisation=p.name or p.title,
                              progress=progress[p.id], by_criterion=dict(sorted(criteria[p.id].items())),
                              last_report=last.get(p.id, (None, None))[0], last_report_on=last.get(p.id, (None, None))[1])
             for p in plans]
    lines.sort(key=lambda line: (line.organisation, line.plan_id))
    totals = sum((line.progress for line in lines), Progress())
    by_criterion: dict[int, Progress] = defaultdict(Progress)
    for line in lines:
        for number, value in line.by_criterion.items():
            by_criterion[number] += value
    return Rollup(campaign_id=campaign.id, title=campaign.title, year=campaign.year,
                  as_of=plan_day(now, plans[0].timezone) if plans else now.date(),
                  generated_at=now.astimezone(dt.UTC).replace(microsecond=0), totals=totals,
                  by_criterion=dict(sorted(by_criterion.items())), organisations=lines)
