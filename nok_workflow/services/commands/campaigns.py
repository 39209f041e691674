"""Assessment campaigns («НОК 2024»): the plans of many organisations under one coordinator.
Create one (its id from the title, transliterated and unique), rename it, attach a loaded plan;
a campaign holds one plan per organisation and year — a second is refused naming both."""

from __future__ import annotations

import datetime as dt

from slugify import slugify
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.services.read.campaigns import owned_campaign
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Campaign, Plan

MAX_TITLE = 200
ID_LENGTH = 48


def _title(text: str) -> str:
    title = " ".join((text or "").split())
    if not title:
        raise InputError([Problem("title", 0, 0, "у кампании должно быть название, например «НОК 2024»")])
    if len(title) > MAX_TITLE:
        raise InputError([Problem("title", 0, 0, f"название кампании длиннее {MAX_TITLE} знаков")])
    return title


def _year(year: int | str) -> int:
    text = str(year).strip()
    if not (text.isdigit() and 1900 <= int(text) <= 2200):
        raise InputError([Problem("year", 0, 0, f"год кампании «{text}» записан неверно: нужен год из четырёх "
                                                "цифр, например 2024")])
    return int(text)


def create(engine: Engine, *, owner: str, title: str, year: int | str, now: dt.datetime) -> str:
    """A new campaign of `owner`; its id: the title transliterated («НОК 2024» → nok-2024), made unique."""
    title, year = _title(title), _year(year)
    base = slugify(title, max_length=ID_LENGTH, word_boundary=True) or f"campaign-{year}"
    with write_session(engine) as session:
        taken = set(session.execute(select(Campaign.id).where(Campaign.id.like(f"{base}%"))).scalars())
        campaign_id, n = base, 2
        while campaign_id in taken:
            campaign_id, n = f"{base}-{n}", n + 1
        session.add(Campaign(id=campaign_id, owner=owner, title=title, year=year, created_at=now))
        audit.record(session, actor=owner, action="campaign.create", plan_id=None, at=now,
                     details={"campaign": campaign_id, "title": title, "year": year})
    return campaign_id


def rename(engine: Engine, campaign_id: str, *, owner: str, title: str, now: dt.datetime) -> None:
    title = _title(title)
    with write_session(engine) as session:
        campaign = owned_campaign(session, campaign_id, owner)
        before, campaign.title = campaign.title, title
        audit.record(session, actor=owner, action="campaign.rename", plan_id=None, at=now,
                     details={"campaign": campaign_id, "before": before, "title": title})


def plan_year(period_end: dt.date | None) -> int | None:
    """A plan's year in a campaign: the year its period ends in."""
    return period_end.year if period_end is not None else None


def check_one_per_organisation(session: Session, campaign_id: str, *, plan_id: str, organisation: str | None,
                               year: int | None, what: str) -> None:
    """Refuse a second plan of the same organisation and year in the campaign; `what` names the
    newcomer (a document or a plan) in the message. A plan without an organisation is not checked."""
    if organisation is None:
        return
    rows = session.execute(select(Plan.id, Plan.title, Plan.period_end).where(
        Plan.campaign_id == campaign_id, Plan.organisation_id == organisation, Plan.id != plan_id)).all()
    for other_id, other_title, other_end in rows:
        if plan_year(other_end) == year:
            raise InputError([Problem(what, 0, 0, f"в кампании уже есть план организации «{organisation}» на {year} "
                                                  f"год — «{other_title}» (id {other_id}); {what} — второй план "
                                                  "той же организации и года, он не добавлен. Исправьте план, "
                                                  "который уже есть, или уберите лишний документ")])


def join_in(session: Session, plan_id: str, campaign: tuple[str, str], organisation: str | None,
            period_end: dt.date) -> None:
    """Inside the transaction that loads the plan: the campaign's row locked first, so that two
    plans of one organisation applied at the same moment cannot both pass the check."""
    campaign_id, what = campaign
    session.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update()).first()
    check_one_per_organisation(session, campaign_id, plan_id=plan_id, organisation=organisation,
                               year=plan_year(period_end), what=what)
    session.flush()  # the plan's row exists by now (a new plan is added before its version)
    session.execute(update(Plan).where(Plan.id == plan_id).values(campaign_id=campaign_id))


def join(engine: Engine, plan_id: str, campaign: tuple[str, str], organisation: str | None,
         period_end: dt.date) -> None:
    with write_session(engine) as session:
        join_in(session, plan_id, campaign, organisation, period_end)


def attach(engine: Engine, campaign_id: str, *, owner: str, plan_id: str, now: dt.datetime) -> None:
    """Put a loaded plan of `owner` into the campaign (from another campaign too)."""
    with write_session(engine) as session:
        owned_campaign(session, campaign_id, owner)
        plan = session.get(Plan, plan_id)
        if plan is None or plan.coordinator != owner:
            raise InputError([Problem(plan_id, 0, 0, f"план «{plan_id}» не загружен или его ведёт другой координатор")])
        check_one_per_organisation(session, campaign_id, plan_id=plan_id, organisation=plan.organisation_id,
                                   year=plan_year(plan.period_end), what=f"план «{plan.title}» (id {plan_id})")
        before, plan.campaign_id = plan.campaign_id, campaign_id
        audit.record(session, actor=owner, action="campaign.attach", plan_id=plan_id, at=now,
                     details={"campaign": campaign_id, "before": before})
