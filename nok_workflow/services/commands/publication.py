"""Opening and closing the public progress pages (services/read/public_progress.py): a plan's, by
its coordinator or the owner of its campaign; a campaign's (all its plans at once), by its owner.
Each change is an audit event; switching to what already is changes nothing and records nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Campaign, Plan


class NotYours(InputError):
    """An unknown plan or campaign, or one the caller may not open: the same answer for both."""


def _refuse(where: str, message: str) -> NotYours:
    return NotYours([Problem(where, 0, 0, message)])


def set_plan_public(engine: Engine, plan_id: str, public: bool, *, by: str, now: dt.datetime) -> bool:
    """Open (or close) the plan's public page; whether anything changed."""
    with write_session(engine) as session:
        plan = session.get(Plan, plan_id)
        campaign = session.get(Campaign, plan.campaign_id) if plan is not None and plan.campaign_id else None
        if plan is None or by not in {plan.coordinator, campaign.owner if campaign is not None else plan.coordinator}:
            raise _refuse("--plan", f"план «{plan_id}» не найден среди планов, которые вы ведёте")
        if plan.public == public:
            return False
        plan.public = public
        audit.record(session, actor=by, action="plan.publish" if public else "plan.unpublish", plan_id=plan_id,
                     at=now, details={"public": public})
        return True


def set_campaign_public(engine: Engine, campaign_id: str, public: bool, *, by: str, now: dt.datetime) -> bool:
    """Open (or close) the campaign's public page and with it each of its plans' pages."""
    with write_session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.owner != by:
            raise _refuse("--campaign", f"кампания «{campaign_id}» не найдена среди ваших кампаний")
        if campaign.public == public:
            return False
        campaign.public = public
        audit.record(session, actor=by, action="campaign.publish" if public else "campaign.unpublish", plan_id=None,
                     at=now, details={"campaign": campaign_id, "public": public})
        return True
