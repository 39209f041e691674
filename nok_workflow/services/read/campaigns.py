"""Campaigns as their pages show them: the owner's list, and a campaign's dashboard — per
organisation the measures done, overdue and open (ONE grouped query over the campaign's
obligations), the last report issued, the open drafts uploaded into it; what needs attention
first. A computed dashboard is kept while the store's change stamp stands (as `dashboard.py`)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.reports.model import previous_quarter, report_period
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.dashboard import Counts
from nok_workflow.services.read.report import ISSUED
from nok_workflow.store.fresh import remembered
from nok_workflow.store.models import AuditEvent, Campaign, Obligation, Party, Plan, PlanDraft

STAMP_TTL = 1.0


class CampaignNotFound(Exception):
    """No such campaign, or another coordinator's: both answer alike."""


@dataclass(frozen=True)
class CampaignSummary:
    id: str
    title: str
    year: int
    plans: int
    public: bool


@dataclass(frozen=True)
class OrgRow:
    plan_id: str
    plan_title: str
    organisation: str  # the organisation's name (or the plan's title when it names none)
    kind: str
    counts: Counts
    last_report: str | None  # «I квартал 2025 года»
    last_report_on: dt.date | None
    report_missing: bool  # no report for the last closed quarter of the plan's period

    @property
    def open(self) -> int:
        return max(0, self.counts.total - self.counts.done - self.counts.late)


@dataclass(frozen=True)
class DraftRow:
    id: str
    source_name: str
    title: str
    rows: int
    created_at: dt.datetime


@dataclass(frozen=True)
class CampaignDashboard:
    id: str
    title: str
    year: int
    public: bool
    today: dt.date
    last_quarter: str  # «I квартал 2025 года»
    rows: list[OrgRow]  # most overdue first, then those without the last quarter's report, then most open
    drafts: list[DraftRow]
    totals: Counts


def owned_campaign(session: Session, campaign_id: str, owner: str) -> Campaign:
    campaign = session.get(Campaign, campaign_id) if len(campaign_id) <= 64 else None
    if campaign is None or campaign.owner != owner:
        raise CampaignNotFound(campaign_id)
    return campaign


def campaigns(engine: Engine, owner: str) -> list[CampaignSummary]:
    with Session(engine) as session:
        counts = dict(session.execute(select(Plan.campaign_id, func.count()).join(
            Campaign, Campaign.id == Plan.campaign_id).where(Campaign.owner == owner)
            .group_by(Plan.campaign_id)).all())
        rows = session.execute(select(Campaign).where(Campaign.owner == owner)
                               .order_by(Campaign.year.desc(), Campaign.title)).scalars().all()
        return [CampaignSummary(c.id, c.title, c.year, counts.get(c.id, 0), c.public) for c in rows]


def campaign_of_plan(engine: Engine, plan_id: str) -> str | None:
    with Session(engine) as session:
        return session.execute(select(Plan.campaign_id).where(Plan.id == plan_id)).scalar()


# --- the dashboard -------------------------------------------------------------------------

_cache: dict[tuple[str, str], tuple[tuple, CampaignDashboard]] = {}
_lock = threading.Lock()


def _stamp(session: Session, campaign_id: str) -> tuple:
    """What changes when the dashboard would: every load, evidence, review, report and status
    change writes an audit event; drafts and the public flag do not, so they are counted."""
    return tuple(session.execute(select(
        select(func.max(AuditEvent.id)).scalar_subquery(),
        select(func.count()).where(PlanDraft.campaign_id == campaign_id, PlanDraft.state == "open")
        .scalar_subquery(),
        select(Campaign.title).where(Campaign.id == campaign_id).scalar_subquery(),
        select(Campaign.public).where(Campaign.id == campaign_id).scalar_subquery(),
    )).one())


def _key(engine: Engine, campaign_id: str, owner: str, now: dt.datetime) -> tuple:
    def read() -> tuple:
        with Session(engine) as session:
            owned_campaign(session, campaign_id, owner)
            return _stamp(session, campaign_id)

    stamp = remembered(("campaign-stamp", str(engine.url), campaign_id, owner), STAMP_TTL, read)
    return (stamp, plan_day(now, "Europe/Moscow"))


def cached(engine: Engine, campaign_id: str, owner: str, now: dt.datetime) -> CampaignDashboard | None:
    """The dashboard from memory while the store is unchanged; None: `dashboard` computes it.
    CampaignNotFound for another's or a missing campaign."""
    hit = _cache.get((str(engine.url), campaign_id))
    key = _key(engine, campaign_id, owner, now)
    return hit[1] if hit is not None and hit[0] == key else None


def dashboard(engine: Engine, campaign_id: str, owner: str, now: dt.datetime) -> CampaignDashboard:
    """The owner's campaign at `now` (another's or a missing one: CampaignNotFound)."""
    key = _key(engine, campaign_id, owner, now)
    slot = (str(engine.url), campaign_id)
    hit = _cache.get(slot)
    if hit is not None and hit[0] == key:
        return hit[1]
    with _lock:  # fifty clients at a cold cache compute it once
        hit = _cache.get(slot)
        if hit is not None and hit[0] == key:
            return hit[1]
        made = _compute(engine, campaign_id, owner, now)
        if len(_cache) > 256:
            _cache.clear()
        _cache[slot] = (key, made)
        return made


def _compute(engine: Engine, campaign_id: str, owner: str, now: dt.datetime) -> CampaignDashboard:
    today = plan_day(now, "Europe/Moscow")
    last = report_period(*previous_quarter(today))
    with Session(engine) as session:
        campaign = owned_campaign(session, campaign_id, owner)
        plans = session.execute(select(Plan.id, Plan.title, Plan.organisation_id, Plan.kind, Plan.period_end,
                                       Plan.current_version).where(Plan.campaign_id == campaign_id)).all()
        in_campaign = select(Plan.id).where(Plan.campaign_id == campaign_id).scalar_subquery()
        counts: dict[str, dict[str, int]] = {}
        for plan_id, status, n in session.execute(  # one grouped query for the whole campaign
                select(Obligation.plan_id, Obligation.status, func.count()).where(Obligation.plan_id.in_(in_campaign))
                .group_by(Obligation.plan_id, Obligation.status)):
            counts.setdefault(plan_id, {})[status] = n
        reports: dict[str, tuple[dt.datetime, str | None]] = {}
        last_issued: set[str] = set()
        for plan_id, at, details in session.execute(
                select(AuditEvent.plan_id, AuditEvent.at, AuditEvent.details).where(
                    AuditEvent.plan_id.in_(in_campaign), AuditEvent.action == ISSUED).order_by(AuditEvent.at)):
            reports[plan_id] = (at, (details or {}).get("title"))
            if (details or {}).get("quarter") == last.code:
                last_issued.add(plan_id)
        names = dict(session.execute(select(Party.plan_id, Party.name).join(
            Plan, (Plan.id == Party.plan_id) & (Plan.organisation_id == Party.id))
            .where(Plan.campaign_id == campaign_id)).all())
        drafts = session.execute(select(PlanDraft).where(
            PlanDraft.campaign_id == campaign_id, PlanDraft.state == "open", PlanDraft.owner == owner)
            .order_by(PlanDraft.created_at.desc(), PlanDraft.source_name)).scalars().all()
        shown_drafts = [DraftRow(d.id, d.source_name, d.content["meta"]["title"], len(d.content["rows"]),
                                 d.created_at) for d in drafts if _aware(d.expires_at) > now]
        title, year, public = campaign.title, campaign.year, campaign.public
    rows = []
    for p in plans:
        reported = reports.get(p.id)
        start = current_plan(engine, p.id, p.current_version).loaded.compiled.plan.period.start
        covers = (p.period_end is None or last.start <= p.period_end) and start <= last.end
        rows.append(OrgRow(p.id, p.title, names.get(p.id) or p.title, p.kind, Counts(counts.get(p.id, {})),
                           reported[1] if reported else None, reported[0].date() if reported else None,
                           covers and p.id not in last_issued))
    rows.sort(key=lambda r: (-r.counts.late, not r.report_missing, -r.open, r.organisation.lower()))
    totals = Counts()
    for r in rows:
        totals = totals.plus(r.counts)
    return CampaignDashboard(campaign_id, title, year, public, today, last.label, rows, shown_drafts, totals)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def owner_of(engine: Engine, campaign_id: str) -> str | None:
    """Who runs the campaign (None: no such campaign) — for the CLI, which acts as the store's operator."""
    with Session(engine) as session:
        return session.execute(select(Campaign.owner).where(Campaign.id == campaign_id)).scalar()


def campaign_plans(engine: Engine, owner: str) -> set[str]:
    """The owner's plans that are in a campaign (the home page lists them under their campaign)."""
    with Session(engine) as session:
        return set(session.execute(select(Plan.id).join(Campaign, Campaign.id == Plan.campaign_id)
                                   .where(Campaign.owner == owner)).scalars())
