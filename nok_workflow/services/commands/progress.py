"""What a plan says was already done: an item's ``progress`` with its ``done_on`` (a plan loaded
in the middle of its year, e.g. a shortcomings plan whose «Сведения о ходе реализации» are filled)
becomes an accepted evidence record of each of the item's open obligations, dated that day.

A record has no file and no link; its comment is the measures taken. It is written once: an
obligation that has any evidence already is left alone, so loading the plan again or amending it
records nothing twice and never overrides what the executors uploaded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.plan.compiled import CompiledPlan
from nok_workflow.services.commands import audit
from nok_workflow.services.commands.relative import refresh_relative
from nok_workflow.status import EvidenceFact, completion
from nok_workflow.store.models import Evidence, Item, Obligation, Review

RECORDED = "отмечено выполненным в плане"


def record(session: Session, compiled: CompiledPlan, actor: str, now: dt.datetime) -> int:
    """Record the plan's done items; returns how many obligations it closed."""
    plan = compiled.plan
    done = {ci.key: ci.item.progress for ci in compiled.items
            if ci.item.progress is not None and ci.item.progress.done_on is not None}
    if not done:
        return 0
    rows = session.execute(
        select(Obligation, Item.key).join(Item, Item.id == Obligation.item_id)
        .where(Obligation.plan_id == plan.id, Item.key.in_(done), Item.active.is_(True),
               Obligation.state == "active", Obligation.completed_on.is_(None),
               ~select(Evidence.id).where(Evidence.obligation_id == Obligation.id).exists())).all()
    closed = []
    for ob, key in rows:
        progress = done[key]
        evidence = Evidence(obligation_id=ob.id, submitted_by=plan.coordinator, submitted_at=now,
                            document_date=progress.done_on, review="accepted", comment=progress.measures)
        session.add(evidence)
        session.flush()
        session.add(Review(evidence_id=evidence.id, decision="accepted", reason=RECORDED,
                           reviewed_by=actor, reviewed_at=now))
        closing = completion([EvidenceFact(evidence.id, evidence.document_date, now, "accepted")], False)
        ob.completed_on, ob.completed_by_evidence = closing.document_date, closing.id
        ob.revision, ob.changed_at = ob.revision + 1, now
        session.add(ob)
        closed.append({"item": key, "period": ob.period, "org": ob.org_id, "evidence": evidence.id,
                       "done_on": progress.done_on.isoformat()})
    if closed:
        session.flush()
        refresh_relative(session, plan.id, now)
        audit.record(session, actor=actor, action="progress.record", plan_id=plan.id, at=now,
                     details={"closed": closed})
    return len(closed)
