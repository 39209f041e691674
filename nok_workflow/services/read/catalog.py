"""Read-only views of the loaded plans: the list, each plan's versions, and the local hour and
timezone its daily run (and its Prefect deployment) keeps."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.store.models import Item, Obligation, Party, Plan, PlanVersion


def plans_overview(engine: Engine) -> list[dict[str, Any]]:
    items = select(Item.plan_id, func.count().label("n")).where(Item.active).group_by(Item.plan_id).subquery()
    obligations = (select(Obligation.plan_id, func.count().label("n"))
                   .where(Obligation.state != "cancelled").group_by(Obligation.plan_id).subquery())
    query = (select(Plan, PlanVersion.loaded_at, items.c.n, obligations.c.n.label("ob"))
             .join(PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.version == Plan.current_version))
             .outerjoin(items, items.c.plan_id == Plan.id)
             .outerjoin(obligations, obligations.c.plan_id == Plan.id).order_by(Plan.id))
    with Session(engine) as session:
        return [{"id": p.id, "title": p.title, "version": p.current_version, "timezone": p.timezone,
                 "coordinator": p.coordinator, "items": n or 0, "obligations": ob or 0,
                 "loaded_at": loaded_at.isoformat()} for p, loaded_at, n, ob in session.execute(query)]


def plan_ids(engine: Engine) -> set[str]:
    """The ids of the loaded plans: an index scan, not plans_overview's counts of every obligation."""
    with Session(engine) as session:
        return set(session.execute(select(Plan.id)).scalars())


def plan_coordinator(engine: Engine, plan_id: str) -> str | None:
    """The plan's coordinator, who acts by default in its audit entries (None: no such plan)."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        return plan.coordinator if plan else None


class PlanSource(NamedTuple):
    """The current version's text exactly as it was loaded, with its file name."""

    text: str
    file: str
    version: int


def plan_source(engine: Engine, plan_id: str) -> PlanSource | None:
    query = (select(PlanVersion.source_text, PlanVersion.source_file, PlanVersion.version)
             .join(Plan, (Plan.id == PlanVersion.plan_id) & (Plan.current_version == PlanVersion.version))
             .where(Plan.id == plan_id))
    with Session(engine) as session:
        row = session.execute(query).first()
    return PlanSource(*row) if row else None


def plan_history(engine: Engine, plan_id: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                               .order_by(PlanVersion.version)).scalars().all()
    if not rows:
        raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
    return [{"version": v.version, "loaded_at": v.loaded_at.isoformat(), "loaded_by": v.loaded_by,
             "source_file": v.source_file, "sha256": v.sha256, "summary": v.summary} for v in rows]


def require(engine: Engine, *, plans: list[str] | None = None, parties: list[str] | None = None,
            plan_id: str | None = None) -> None:
    """A filter that names a plan or a party nobody loaded is a typo: say so, instead of an
    empty table that reads as «nothing is due»."""
    with Session(engine) as session:
        known = set(session.execute(select(Plan.id)).scalars())
        for wanted in plans or []:
            if wanted not in known:
                listed = ", ".join(sorted(known)) or "нет ни одного"
                raise InputError([Problem("--plan", 0, 0, f"план «{wanted}» не загружен; загружены: {listed}")])
        if not parties:
            return  # no party filter: nothing to look up (a region has hundreds of thousands)
        query = select(Party.id).where(Party.id.in_(parties))
        if plan_id:
            query = query.where(Party.plan_id == plan_id)
        ids = set(session.execute(query).scalars())
        for wanted in parties:
            if wanted not in ids:
                where = f"плана «{plan_id}»" if plan_id else "загруженных планов"
                raise InputError([Problem("--owner/--org", 0, 0,
                                          f"«{wanted}» нет в справочнике {where} (исполнители и организации)")])


def plan_schedule(engine: Engine, plan_id: str) -> tuple[int, str]:
    """The plan's local reminder hour and timezone: when its daily run starts."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
        return plan.reminder_hour, plan.timezone
