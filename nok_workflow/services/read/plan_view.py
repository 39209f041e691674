"""Read models of a coordinator's plan pages: the items with their obligations, one item's
obligations page by page, the evidence to review. Bulk queries only: a region's plan has
thousands of obligations per item."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.plan.compiled import clean_number
from nok_workflow.plan.describe import interpretation_parts, owner_label
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.dashboard import Counts, dashboard, party_names
from nok_workflow.store.models import Evidence, Item, Obligation, Plan, Review

LISTED = 20  # an item with at most this many obligations lists them on the plan page
PAGE = 100


@dataclass(frozen=True)
class ObligationRow:
    id: int
    period: str
    org: str  # "" for an item owned by people or units
    who: str
    opens: dt.date | None
    due: dt.date | None
    status: str
    level: int
    state: str
    reason: str | None
    completed_on: dt.date | None

    @property
    def waivable(self) -> bool:
        return self.state == "active" and self.completed_on is None


@dataclass(frozen=True)
class ItemView:
    key: str
    number: str
    title: str
    section: str
    deadline: str
    kind: str
    spans: list[str]
    owners: list[str]
    results: list[str]
    warnings: list[str]
    counts: Counts
    obligations: list[ObligationRow] | None  # None: too many to list here
    shortcoming: str | None = None  # what the independent assessment found (a shortcomings plan)

    @property
    def total(self) -> int:
        return sum(self.counts.by_status.values())


def _row(ob: Any, owners: list[str], names: dict[str, str]) -> ObligationRow:
    who = ", ".join(names.get(o, o) for o in obligation_owners(ob.org_id, owners)) or "—"
    return ObligationRow(ob.id, ob.period, ob.org_id, who, ob.opens, ob.due, ob.status, ob.level, ob.state,
                         ob.state_reason, ob.completed_on)


_COLUMNS = (Obligation.id, Obligation.item_id, Obligation.period, Obligation.org_id, Obligation.opens,
            Obligation.due, Obligation.status, Obligation.level, Obligation.state, Obligation.state_reason,
            Obligation.completed_on)


def _view(item: dict, section: str, counts: Counts, obligations: list[ObligationRow] | None) -> ItemView:
    kind, spans = interpretation_parts(item)
    return ItemView(item["key"], item["number"], item["title"], section, item["deadline"], kind, spans,
                    [owner_label(o) for o in item["owners"]], item["results"], item["warnings"], counts,
                    obligations, item.get("shortcoming"))


def items(engine: Engine, plan_id: str, now: dt.datetime) -> list[ItemView]:
    """Every item of the current version, as `nok plan show` describes it, with its obligations."""
    current = current_plan(engine, plan_id)
    counts = dashboard(engine, plan_id, now).item_counts
    with Session(engine) as session:
        rows = {r.key: r for r in session.execute(
            select(Item.id, Item.key, Item.owners).where(Item.plan_id == plan_id, Item.active))}
        small = [r.id for r in rows.values() if sum(counts.get(r.id, Counts()).by_status.values()) <= LISTED]
        obligations: dict[int, list[Any]] = {}
        if small:
            for ob in session.execute(select(*_COLUMNS).where(Obligation.item_id.in_(small))
                                      .order_by(Obligation.due, Obligation.period, Obligation.org_id)):
                obligations.setdefault(ob.item_id, []).append(ob)
        owners = {o for r in rows.values() if r.id in obligations for o in r.owners}
        owners |= {ob.org_id for obs in obligations.values() for ob in obs if ob.org_id}
        names = party_names(session, plan_id, owners)
    sections = {number: f"{number} {title}".strip() for number, title in current.sections}
    result = []
    for item in current.described["items"]:
        row = rows.get(item["key"])
        listed = None
        if row is not None and row.id in small:
            listed = [_row(ob, row.owners, names) for ob in obligations.get(row.id, [])]
        result.append(_view(item, sections.get(item["section"] or "", ""),
                            counts.get(row.id, Counts()) if row else Counts(), listed))
    return result


def item_page(engine: Engine, plan_id: str, key: str, page: int,
              now: dt.datetime) -> tuple[ItemView, list[ObligationRow], int] | None:
    """One item and a page of its obligations (by due date, then organisation), and how many
    there are; None when the plan has no such item."""
    current = current_plan(engine, plan_id)
    ref = clean_number(key)
    item = next((i for i in current.described["items"] if i["key"] == ref), None)
    if item is None:
        return None
    counts = dashboard(engine, plan_id, now).item_counts
    with Session(engine) as session:
        row = session.execute(select(Item.id, Item.owners).where(Item.plan_id == plan_id, Item.key == ref,
                                                                  Item.active)).first()
        if row is None:
            return None
        total = session.execute(select(func.count()).select_from(Obligation)
                                .where(Obligation.item_id == row.id)).scalar_one()
        obs = session.execute(select(*_COLUMNS).where(Obligation.item_id == row.id)
                              .order_by(Obligation.due, Obligation.org_id, Obligation.period, Obligation.id)
                              .limit(PAGE).offset(max(page - 1, 0) * PAGE)).all()
        names = party_names(session, plan_id, set(row.owners) | {ob.org_id for ob in obs if ob.org_id})
    sections = {number: f"{number} {title}".strip() for number, title in current.sections}
    view = _view(item, sections.get(item["section"] or "", ""), counts.get(row.id, Counts()), None)
    return view, [_row(ob, row.owners, names) for ob in obs], total


# --- evidence to review ----------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceRow:
    id: int
    item: str
    title: str
    period: str
    org: str | None
    submitter: str
    submitted_at: dt.datetime
    document_date: dt.date
    file_name: str | None
    size: int | None
    media_type: str | None
    url: str | None
    comment: str | None
    review: str
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    reason: str | None = None


def _evidence_query(plan_id: str):  # noqa: ANN202 - a select
    return (select(Evidence, Obligation.period, Obligation.org_id, Item.key, Item.title)
            .join(Obligation, Obligation.id == Evidence.obligation_id).join(Item, Item.id == Obligation.item_id)
            .where(Obligation.plan_id == plan_id))


def review_queue(engine: Engine, plan_id: str, limit: int = PAGE) -> tuple[list[EvidenceRow], int, list[EvidenceRow]]:
    """Evidence awaiting review (oldest first) and how many in all; then the latest decisions."""
    with Session(engine) as session:
        pending_total = session.execute(
            select(func.count()).select_from(Evidence).join(Obligation, Obligation.id == Evidence.obligation_id)
            .where(Obligation.plan_id == plan_id, Evidence.review == "pending")).scalar_one()
        pending = session.execute(_evidence_query(plan_id).where(Evidence.review == "pending")
                                  .order_by(Evidence.submitted_at, Evidence.id).limit(limit)).all()
        decided = session.execute(
            _evidence_query(plan_id).add_columns(Review.reviewed_by, Review.reviewed_at, Review.reason)
            .join(Review, Review.evidence_id == Evidence.id)
            .order_by(Review.reviewed_at.desc(), Review.id.desc()).limit(limit)).all()
        people = {r.Evidence.submitted_by for r in [*pending, *decided]} | {r.org_id for r in [*pending, *decided]}
        people |= {r.reviewed_by for r in decided}
        names = party_names(session, plan_id, {p for p in people if p})

    def row(r: Any, **decision: Any) -> EvidenceRow:
        e = r.Evidence
        return EvidenceRow(e.id, r.key, r.title, r.period, names.get(r.org_id, r.org_id) if r.org_id else None,
                           names.get(e.submitted_by, e.submitted_by), e.submitted_at, e.document_date, e.file_name,
                           e.size, e.media_type, e.url, e.comment, e.review, **decision)

    return ([row(r) for r in pending], pending_total,
            [row(r, decided_by=names.get(r.reviewed_by, r.reviewed_by), decided_at=r.reviewed_at, reason=r.reason)
             for r in decided])


def evidence_of_plan(engine: Engine, plan_id: str, evidence_id: int) -> Evidence | None:
    """The evidence, when it belongs to this plan (another plan's is «not found»)."""
    with Session(engine) as session:
        row = session.execute(select(Evidence).join(Obligation, Obligation.id == Evidence.obligation_id)
                              .where(Evidence.id == evidence_id, Obligation.plan_id == plan_id)).scalar()
        if row is not None:
            session.expunge(row)
        return row


def plan_exists(engine: Engine, plan_id: str) -> Plan | None:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is not None:
            session.expunge(plan)
        return plan
