"""The public view of a campaign: each of its plans' organisation, counts and overdue measures,
counted as the plan's public page counts them (public_progress.py); no personal data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.public_progress import VIEW_TTL, Counts, count_columns, counts_of, organisation_name
from nok_workflow.store.fresh import remembered
from nok_workflow.store.models import Campaign, Item, Obligation, Plan

ob = Obligation


@dataclass(frozen=True)
class CampaignPlan:
    plan_id: str
    title: str
    organisation: str
    counts: Counts
    overdue_measures: int


@dataclass(frozen=True)
class PublicCampaign:
    campaign_id: str
    title: str
    year: int
    as_of: dt.date
    totals: Counts
    plans: list[CampaignPlan] = field(default_factory=list)


def campaign_view(engine: Engine, campaign_id: str, now: dt.datetime) -> PublicCampaign | None:
    """A public campaign: each of its plans — the organisation, its counts, how many measures are
    overdue; None when the campaign is unknown or not public."""
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or not campaign.public:
            return None
        plans = list(session.execute(select(Plan.id, Plan.title, Plan.timezone)
                                     .where(Plan.campaign_id == campaign_id).order_by(Plan.id)))
        if not plans:  # nothing to count: «today» in Moscow, as a plan's time zone is by default
            return PublicCampaign(campaign.id, campaign.title, campaign.year, plan_day(now, "Europe/Moscow"), Counts())
        # A campaign is one region's: its plans share a time zone; the first one's says «today».
        as_of = plan_day(now, plans[0].timezone)
        live = (ob.plan_id.in_([p.id for p in plans]), Item.active)
        per_plan = {row[0]: counts_of(row[1:]) for row in session.execute(
            select(ob.plan_id, *count_columns(as_of)).join(Item, Item.id == ob.item_id).where(*live)
            .group_by(ob.plan_id))}
        late_items = dict(session.execute(
            select(ob.plan_id, func.count(func.distinct(ob.item_id))).join(Item, Item.id == ob.item_id).where(
                *live, ob.state.not_in(("waived", "cancelled")), ob.completed_on.is_(None), ob.due < as_of)
            .group_by(ob.plan_id)).all())
    rows = [CampaignPlan(plan_id=p.id, title=p.title, organisation=organisation_name(current_plan(engine, p.id)) or p.title,
                         counts=per_plan.get(p.id, Counts()), overdue_measures=late_items.get(p.id, 0)) for p in plans]
    rows.sort(key=lambda r: r.organisation)
    return PublicCampaign(campaign.id, campaign.title, campaign.year, as_of, sum((r.counts for r in rows), Counts()),
                          rows)


def shown_campaign(engine: Engine, campaign_id: str, now: dt.datetime) -> PublicCampaign | None:
    """`campaign_view`, reused as `shown_plan` is."""
    minute = now.replace(second=0, microsecond=0)
    return remembered(("public-campaign", str(engine.url), campaign_id, minute), VIEW_TTL,
                      lambda: campaign_view(engine, campaign_id, now))
