"""Relative deadlines get their dates when the item they count from is done."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from nok_workflow.deadlines.grammar import relative_due
from nok_workflow.store.models import NO_ORG, Item, Obligation, touched


def refresh_relative(session: Session, plan_id: str, now: dt.datetime | None) -> int:
    """Set (or clear) opens/due of the plan's relative obligations from their anchors.

    The anchor is done for an organisation when its obligation for that organisation is;
    for a shared obligation, when all the anchor's obligations are. Returns rows changed.
    """
    items = session.execute(
        select(Item.id, Item.key, Item.relative).where(Item.plan_id == plan_id, Item.active)
    ).all()
    relative = [(i.id, i.relative) for i in items if i.relative and i.relative.get("after")]
    if not relative:
        return 0
    by_key = {i.key: i.id for i in items}
    anchor_ids = {by_key[r["after"]] for _, r in relative if r["after"] in by_key}
    anchors: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in session.execute(
        select(Obligation.item_id, Obligation.org_id, Obligation.completed_on, Obligation.state)
        .where(Obligation.item_id.in_(anchor_ids), Obligation.state != "cancelled")
    ):
        anchors[row.item_id][row.org_id].append(row.completed_on if row.state == "active" else "waived")
    changes = []
    for item_id, rule in relative:
        anchor = anchors.get(by_key.get(rule["after"], -1), {})
        for ob in session.execute(
            select(Obligation.id, Obligation.org_id, Obligation.opens, Obligation.due)
            .where(Obligation.item_id == item_id, Obligation.state == "active")
        ):
            dates = anchor.get(ob.org_id) if ob.org_id != NO_ORG and ob.org_id in anchor else [
                d for per_org in anchor.values() for d in per_org]
            done = [d for d in dates if d not in (None, "waived")]
            complete = bool(dates) and all(d is not None for d in dates) and done
            opens = max(done) if complete else None
            due = relative_due(rule["amount"], rule["unit"], opens) if opens else None
            if (ob.opens, ob.due) != (opens, due):
                changes.append({"oid": ob.id, "opens": opens, "due": due})
    if changes:
        table = Obligation.__table__
        session.execute(update(table).where(table.c.id == bindparam("oid"))
                        .values(opens=bindparam("opens"), due=bindparam("due"),
                                **(touched(now) if now else {"revision": table.c.revision + 1})), changes)
    return len(changes)
