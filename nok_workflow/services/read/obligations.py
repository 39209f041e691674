"""Obligations with their computed status, for `nok status`; a page of them as the API
gives it, with what an API answer names (an obligation's item and period, an evidence's plan)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.expand import obligation_owners
from nok_workflow.plan.source import parse
from nok_workflow.plan.validate import validate_document
from nok_workflow.policy import Level, Policy, resolve
from nok_workflow.problems import InputError, Problem
from nok_workflow.status import ObligationFact, status_of
from nok_workflow.store.models import (
    Evidence,
    Item,
    Obligation,
    Party,
    Plan,
    PlanVersion,
)
from nok_workflow.store.owners import owned_by


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy as the store keeps it (`Plan.policy`, `Item.policy`)."""
    return {"reminder_days": list(policy.reminder_days), "reminder_working_days": policy.reminder_working_days,
            "hour": policy.hour, "escalation_working_days": policy.escalation_working_days,
            "levels": [[lv.after_days, lv.to] for lv in policy.levels], "calendar_alarms": policy.calendar_alarms}


def _policy(data: dict[str, Any]) -> Policy:
    return Policy(reminder_days=tuple(data["reminder_days"]), reminder_working_days=data["reminder_working_days"],
                  hour=data["hour"], escalation_working_days=data["escalation_working_days"],
                  levels=tuple(Level(after, to) for after, to in data["levels"]),
                  calendar_alarms=data["calendar_alarms"])


def plan_policies(session: Session, plan_ids: list[str]) -> dict[tuple[str, str], Policy]:
    """(plan, item identity) → the item's policy at each plan's current version; (plan, "")
    → the plan's own, for items no longer in the plan. Kept in the store at load; a plan
    loaded before that has its version's text parsed (a region's plan: a second or more)."""
    policies: dict[tuple[str, str], Policy] = {}
    stored = dict(session.execute(select(Plan.id, Plan.policy).where(Plan.id.in_(plan_ids))).all())
    kept = [pid for pid, policy in stored.items() if policy is not None]
    for pid in kept:
        policies[(pid, "")] = _policy(stored[pid])
    for pid, identity, policy in session.execute(
            select(Item.plan_id, Item.identity, Item.policy).where(Item.plan_id.in_(kept), Item.active)):
        policies[(pid, identity)] = _policy(policy) if policy is not None else policies[(pid, "")]
    if missing := [pid for pid in plan_ids if pid not in kept]:
        policies |= _parsed_policies(session, missing)
    return policies


def _parsed_policies(session: Session, plan_ids: list[str]) -> dict[tuple[str, str], Policy]:
    rows = session.execute(
        select(PlanVersion.plan_id, PlanVersion.source_text, PlanVersion.source_file)
        .join(Plan, (Plan.id == PlanVersion.plan_id) & (Plan.current_version == PlanVersion.version))
        .where(PlanVersion.plan_id.in_(plan_ids))
    ).all()
    policies = {}
    for r in rows:
        try:
            compiled = validate_document(parse(r.source_text, r.source_file)).compiled
        except InputError as exc:
            # Loaded under older, laxer rules (e.g. a year far outside the plan): say what to do.
            raise InputError([Problem(r.source_file, 0, 0, (
                f"сохранённая версия плана «{r.plan_id}» не проходит нынешнюю проверку "
                f"({exc.problems[0].message}); исправьте файл и загрузите его снова: nok plan load"))]) from None
        policies[(r.plan_id, "")] = resolve(compiled.plan)  # for items no longer in the plan
        for ci in compiled.items:
            policies[(r.plan_id, ci.item.id or ci.key)] = resolve(compiled.plan, ci.item)
    return policies


def list_obligations(engine: Engine, *, now: dt.datetime, plan_id: str | None = None,
                     owner: str | None = None, org: str | None = None,
                     include_closed: bool = True) -> list[dict[str, Any]]:
    # Counted per row returned (an index lookup each), not grouped over the whole evidence table.
    evidence_count = (select(func.count()).select_from(Evidence)
                      .where(Evidence.obligation_id == Obligation.id).correlate(Obligation).scalar_subquery())
    query = (
        select(Obligation, Item.key, Item.identity, Item.title, Item.owners, Item.results, Plan.timezone,
               evidence_count.label("evidence"))
        .join(Item, Item.id == Obligation.item_id).join(Plan, Plan.id == Obligation.plan_id)
        .order_by(Obligation.plan_id, Item.position, Obligation.due, Obligation.org_id)
    )
    if plan_id:
        query = query.where(Obligation.plan_id == plan_id)
    if org:
        query = query.where(Obligation.org_id == org)
    with Session(engine) as session:
        rows = session.execute(query).all()
        plans = {r.Obligation.plan_id for r in rows}
        policies = plan_policies(session, sorted(plans))
        wanted = {(r.Obligation.plan_id, p) for r in rows for p in (r.Obligation.org_id, *r.owners)}
        parties = select(Party.plan_id, Party.id, Party.name).where(Party.plan_id.in_(plans))
        if len(wanted) <= 500:  # one organisation's few; a whole region's plan: all of them
            parties = parties.where(Party.id.in_({p for _, p in wanted}))
        names = {(pid, id_): name for pid, id_, name in session.execute(parties)}
    result = []
    for r in rows:
        ob = r.Obligation
        owners = obligation_owners(ob.org_id, r.owners)
        if owner and owner not in owners and owner not in r.owners:
            continue
        today = plan_day(now, r.timezone)
        st = status_of(ObligationFact(ob.opens, ob.due, ob.state), ob.completed_on, today, 
                       policies.get((ob.plan_id, r.identity)) or policies[(ob.plan_id, "")])
        if not include_closed and st.status in ("done", "done_late", "cancelled", "waived"):
            continue
        result.append({
            "id": ob.id, "plan": ob.plan_id, "item": r.key, "title": r.title, "period": ob.period,
            "org": ob.org_id or None, "org_name": names.get((ob.plan_id, ob.org_id)) if ob.org_id else None,
            "owners": [names.get((ob.plan_id, o), o) for o in owners],
            "opens": ob.opens.isoformat() if ob.opens else None,
            "due": ob.due.isoformat() if ob.due else None,
            "status": st.status, "level": st.level, "days": st.days,
            "completed_on": ob.completed_on.isoformat() if ob.completed_on else None,
            "evidence": r.evidence, "results": r.results, "reason": ob.state_reason,
        })
    return result


def obligation_page(engine: Engine, plan_ids: list[str], *, owner: str | None = None, status: str | None = None,
                    limit: int, offset: int) -> dict[str, Any]:
    """A page of the plans' obligations as the API lists them, with the status the plan's
    last run left; only those `owner` answers for when given (an executor's token)."""
    where = [Obligation.plan_id.in_(plan_ids)]
    if owner is not None:
        where.append(owned_by(owner, engine.dialect.name, plan_ids))
    if status is not None:
        where.append(Obligation.status == status)
    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(Obligation).where(*where)).scalar_one()
        rows = session.execute(
            select(Obligation.id, Obligation.plan_id, Obligation.period, Obligation.org_id, Obligation.due,
                   Obligation.status, Obligation.level, Obligation.completed_on, Item.key, Item.title, Item.results)
            .join(Item, Item.id == Obligation.item_id).where(*where)
            .order_by(Obligation.plan_id, Item.position, Obligation.due, Obligation.org_id, Obligation.id)
            .limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset, "obligations": [
        {"id": r.id, "plan": r.plan_id, "item": r.key, "title": r.title, "period": r.period, "org": r.org_id or None,
         "due": r.due.isoformat() if r.due else None, "status": r.status, "level": r.level,
         "completed_on": r.completed_on.isoformat() if r.completed_on else None, "documents": r.results}
        for r in rows]}


def item_and_period(engine: Engine, obligation_id: int) -> tuple[str, str]:
    """An obligation's item number (its key) and period, as an answer names them."""
    with Session(engine) as session:
        key, period = session.execute(
            select(Item.key, Obligation.period).join(Obligation, Obligation.item_id == Item.id)
            .where(Obligation.id == obligation_id)).one()
        return key, period


def evidence_plan(engine: Engine, evidence_id: int) -> str | None:
    """The plan an evidence row belongs to (None: no such row)."""
    with Session(engine) as session:
        return session.execute(select(Obligation.plan_id).join(Evidence, Evidence.obligation_id == Obligation.id)
                               .where(Evidence.id == evidence_id)).scalar()
