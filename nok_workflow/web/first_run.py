"""The first page of a fresh install (`GET /` while no account exists): the demo plan, read
only, with its executors' links to try, and what to do next.

Public, and safe so: it shows only demo plans (`Plan.demo`), whose addresses are at
`demo.invalid` and whose mail stays in the outbox folder. A plan the user loaded is never
shown here; the page then only explains the two steps.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.services.read.links import link_for
from nok_workflow.store.models import Item, Obligation, Party, Plan
from nok_workflow.text import plural
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import render

# The order statuses are counted in: what needs attention first.
STATUS_ORDER = ("escalated", "overdue", "due_soon", "open", "upcoming", "done_late", "done", "waived", "cancelled")
MAX_ROWS = 300  # a demo plan has a dozen; a bound all the same


def first_run(request: Request) -> Response:
    c = ctx(request)
    with Session(c.engine) as session:
        plan = session.execute(select(Plan).where(Plan.demo.is_(True))
                               .order_by(Plan.created_at.desc(), Plan.id).limit(1)).scalar_one_or_none()
        demo = _demo(session, plan, c.settings.base_url, c.key) if plan else None
        own_plans = session.execute(select(func.count()).select_from(Plan)
                                    .where(Plan.demo.is_not(True))).scalar_one()
    return render(request, "first_run.html", demo=demo, own_plans=own_plans,
                  outbox=str(c.settings.outbox_dir))


def _demo(session: Session, plan: Plan, base_url: str, key: bytes) -> dict:
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
    return {"plan": plan, "counts": counts, "total": total, "done": done, "items": items,
            "executors": executors, "coordinator": plan.coordinator}
