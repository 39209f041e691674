"""A shortcomings plan's progress report in the official form (№ 457), read from the store.

Three queries for the whole plan — its items, its obligations, the evidence that counts — and
the plan's current version (compiled once per process) for what the store does not keep: each
section's criterion, each measure's shortcoming, the responsible people's positions.

Evidence counts as `status.completion` has it: accepted, or still pending when the measure
does not require review; a rejected one never. Its text is what the executor wrote on upload
(a record made from the plan's own `progress` has the measures taken and no file).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.plan import form457
from nok_workflow.problems import InputError, Problem
from nok_workflow.reports.form_model import FormReport, FormRow, FormSection, Measure
from nok_workflow.reports.model import Period
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.party_view import period_label
from nok_workflow.store.models import Evidence, Item, Obligation, Party, Plan

ob = Obligation


def is_form_plan(engine: Engine, plan_id: str) -> bool:
    with Session(engine) as session:
        return session.execute(select(Plan.kind).where(Plan.id == plan_id)).scalar() == form457.KIND


def evidence_link(base_url: str, plan_id: str, e: Evidence) -> str | None:
    """A link the reader can open: the evidence's own address, or its file on the coordinator's pages."""
    if e.url and not e.file_name:
        return e.url
    if e.file_name:
        return f"{base_url.rstrip('/')}/plans/{plan_id}/evidence/{e.id}/file"
    return None


def build_form_report(engine: Engine, plan_id: str, period: Period, *, now: dt.datetime,
                      base_url: str) -> FormReport:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise InputError([Problem("--plan", 0, 0, f"план «{plan_id}» не загружен (см. nok plan list)")])
        if plan.kind != form457.KIND:
            raise InputError([Problem("--plan", 0, 0, f"план «{plan_id}» — не план устранения недостатков: "
                                                      "отчёт по форме № 457 для него не составляется")])
        current = current_plan(engine, plan_id)
        as_of = plan_day(now, plan.timezone)
        items = {i.key: i for i in session.execute(
            select(Item).where(Item.plan_id == plan_id, Item.active.is_(True))).scalars()}
        obligations: dict[int, list] = defaultdict(list)
        for row in session.execute(select(ob.id, ob.item_id, ob.period, ob.due, ob.state, ob.completed_on)
                                   .where(ob.plan_id == plan_id).order_by(ob.due, ob.id)):
            obligations[row.item_id].append(row)
        needs_review = {i.id: plan.review_required if i.review_required is None else i.review_required
                        for i in items.values()}
        evidence: dict[int, list[tuple[Evidence, str]]] = defaultdict(list)
        for e, item_id, period_code in session.execute(
                select(Evidence, ob.item_id, ob.period).join(ob, ob.id == Evidence.obligation_id)
                .where(ob.plan_id == plan_id, Evidence.review != "rejected")
                .order_by(Evidence.document_date, Evidence.id)).all():
            if e.review == "accepted" or not needs_review.get(item_id, True):
                evidence[item_id].append((e, period_code))
        names = dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())

    source = current.loaded.compiled
    positions = {d.id: d.position for d in source.plan.directory if d.position}
    organisation = names.get(plan.organisation_id or "", plan.organisation_id)
    sections: list[FormSection] = []
    by_section: dict[int, list[FormRow]] = defaultdict(list)
    for ci in source.items:
        item = items.get(ci.key)
        if item is None:
            continue
        index = current.section_index(ci.key)
        by_section[index].append(_row(ci, item, obligations[item.id], evidence[item.id], names, positions,
                                      base_url, plan_id, as_of))
    for index, s in enumerate(source.plan.sections):
        if by_section.get(index):
            title = form457.criterion_title(s.criterion) if s.criterion else \
                " ".join(x for x in (s.number, s.title) if x)
            sections.append(FormSection(criterion=s.criterion, title=title, rows=by_section[index]))
    return FormReport(plan_id=plan_id, plan_title=plan.title, organisation=organisation, period=period,
                      as_of=as_of, generated_at=now.astimezone(dt.UTC).replace(microsecond=0), sections=sections)


def _row(ci, item: Item, obligations: list, evidence: list[tuple[Evidence, str]], names: dict[str, str],
         positions: dict[str, str], base_url: str, plan_id: str, as_of: dt.date) -> FormRow:
    live = [o for o in obligations if o.state not in ("waived", "cancelled")]
    several = len(live) > 1
    done = [o for o in live if o.completed_on is not None]
    late_open = [o.due for o in live if o.completed_on is None and o.due is not None and o.due < as_of]
    measures = [Measure(text=e.comment or "", document=e.file_name or e.url, document_date=e.document_date,
                        url=evidence_link(base_url, plan_id, e), period=period_label(code) if several else None)
                for e, code in evidence]
    responsible = [", ".join(x for x in (names.get(o, o), positions.get(o)) if x) for o in item.owners]
    return FormRow(number=item.number, shortcoming=ci.item.shortcoming or "", measure=item.title,
                   deadline=item.deadline_text, responsible=responsible, done=measures,
                   done_on=max((o.completed_on for o in done), default=None),
                   periods_done=[period_label(o.period) for o in sorted(done, key=lambda o: o.due or as_of)]
                   if several else [],
                   periods_total=len(live), overdue_since=min(late_open, default=None),
                   cancelled=bool(obligations) and not live)
