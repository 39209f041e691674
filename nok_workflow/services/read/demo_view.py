"""The demo plan as the first page of a fresh install shows it (web/first_run.py): its
counts by status, its obligations with their owners, and each executor's link to try.

Only demo plans (`Plan.demo`): their addresses are at `demo.invalid`, so the page that shows
them is public. A plan the user loaded is only counted here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.services.read.links import link_for
from nok_workflow.store.models import Item, Obligation, Party, Plan
from nok_workflow.text import plural

# The order statuses are counted in: what needs attention first.
STATUS_ORDER = ("escalated", "overdue", "due_soon", "open", "upcoming", "done_late", "done", "waived", "cancelled")
MAX_ROWS = 300  # a demo plan has a dozen; a bound all the same


def own_plan_count(engine: Engine) -> int:
    """How many plans the user loaded (demo plans aside)."""
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Plan).where(Plan.demo.is_not(True))).scalar_one()


def demo_view(engine: Engine, base_url: str, key: bytes) -> dict[str, Any] | None:
    """The newest demo plan as the first page shows it; None when there is none."""
    with Session(engine) as session:
        plan = session.execute(select(Plan).where(Plan.demo.is_(True))
                               .order_by(Plan.created_at.desc(), Plan.id).limit(1)).scalar_one_or_none()
        return _demo(session, plan, base_url, key) if plan else None


def _demo(session: Session, plan: Plan, base_url: str, key: bytes) -> dict[str, Any]:
    counted = dict(session.execute(select(Obligation.status, func.count())
                                   .where(Obligation.plan_id == plan.id).group_by(Obligation.status)).all())
    counts = [(s, counted[s]) for s in STATUS_ORDER if counted.get(s)]
    counts += sorted((s, n) for s, n in counted.items() if s not in STATUS_ORDER)
    rows = session.execute(
        select(Item.key, Item.title, Item.owners, Obligation.period, Obligation.org_id, Obligation.due,
               Obligation.completed_on, Obligation.status)
        .join(Item, Item.id == Obligation.item_id)
        .where(Obligation.plan_id == plan.id, Item.active)
        .order_by(Item.position, Obligation.due, Obligation.period, Obligation.org_id).limit(MAX_ROWS)).all()
    parties = {p.id: p for p in session.execute(select(Party).where(Party.plan_id == plan.id, Party.active)).scalars()}
    owned: dict[str, int] = {}
    items = []
    for row in rows:
        owners = [o for o in obligation_owners(row.org_id, row.owners) if o in parties]
        for o in owners:
            owned[o] = owned.get(o, 0) + 1
        items.append({"key": row.key, "title": row.title, "period": row.period, "due": row.due,
                      "completed_on": row.completed_on, "status": row.status,
                      "owners": [parties[o].name for o in owners]})
    executors = []
    for party_id in sorted(owned, key=lambda p: parties[p].name):
        # Only the path: the page opens on whatever address the visitor used.
        link = urlsplit(link_for(session, base_url, key, plan.id, party_id)).path
        executors.append({"id": party_id, "name": parties[party_id].name, "link": link,
                          "count": plural(owned[party_id], "обязательство", "обязательства", "обязательств")})
    total = sum(counted.values())
    done = counted.get("done", 0) + counted.get("done_late", 0)
    return {"plan": {"id": plan.id, "title": plan.title}, "counts": counts, "total": total, "done": done,
            "items": items, "executors": executors, "coordinator": plan.coordinator}
