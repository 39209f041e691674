"""Issuing a plan's quarterly report: when it is due, and what issuing it does.

The daily plan run asks `issue_due`: once a quarter's report day has come (the day after
the quarter closes, or earlier when the plan's own reporting item — `report_item` — is due
earlier in that quarter), the report is written in Word, Excel, HTML and JSON into
`NOK_HOME/reports/<plan>/`, the Word file is filed as the document of the reporting item,
and the coordinator gets it in their next digest. For a shortcomings plan the report in the form
№ 457 is written too (its own four files), and it is the form's Word and Excel files that are
filed and mailed. Each step can be repeated after a crash
without doing it twice (the same files, evidence by file name, the outbox by key); the
audit event written last says the quarter is done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.deadlines.periods import label as period_code
from nok_workflow.evidence_files import PathSource
from nok_workflow.files import write_atomically
from nok_workflow.plan import form457
from nok_workflow.reports.formats import FORMATS, file_name, render
from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.model import Period, Report, quarter_of, report_period
from nok_workflow.services.commands import audit, evidence
from nok_workflow.services.delivery import outbox
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.form_report import build_form_report, is_form_plan
from nok_workflow.services.read.report import ISSUED, build_report
from nok_workflow.settings import Settings
from nok_workflow.store.db import write_session
from nok_workflow.store.models import AuditEvent, Evidence, Item, Obligation, Outbox, Plan

MAILED = ("docx", "xlsx")  # what the coordinator's digest attaches


@dataclass(frozen=True)
class Issued:
    period: Period
    report: Report
    files: dict[str, Path]
    evidence_id: int | None  # the reporting item's document, when the plan has one
    queued: bool  # a new digest entry for the coordinator (False: it was queued before)
    form: FormReport | None = None  # a shortcomings plan's report in the form № 457
    form_files: dict[str, Path] = field(default_factory=dict)


def _reporting_obligation(session: Session, plan_id: str, period: Period) -> Obligation | None:
    """The reporting item's obligation for the quarter: the one of that quarter, else the
    first one due after it (an item reported yearly covers its quarters too)."""
    compiled = current_plan(session.get_bind(), plan_id).loaded.compiled
    ref = compiled.plan.report_item
    if ref is None:
        return None
    key = next((ci.key for ci in compiled.items if ref in (ci.item.id, ci.key)), None)
    item = session.execute(select(Item).where(Item.plan_id == plan_id, Item.key == key)).scalar()
    if item is None:
        return None
    rows = session.execute(select(Obligation).where(Obligation.item_id == item.id, Obligation.state == "active",
                                                    Obligation.due.is_not(None))
                           .order_by(Obligation.due)).scalars().all()
    code = period_code("quarter", period.year, period.quarter)
    return next((o for o in rows if o.period == code), None) or next((o for o in rows if o.due >= period.end), None)


def report_day(session: Session, plan_id: str, period: Period) -> dt.date:
    closing = period.end + dt.timedelta(days=1)
    plan = current_plan(session.get_bind(), plan_id).loaded.compiled.plan
    day = plan.report_day or (form457.DEFAULT_REPORT_DAY if plan.kind == form457.KIND else None)
    if day is not None:
        return closing.replace(day=day)  # «до 3 числа месяца, следующего за отчетным кварталом»
    reporting = _reporting_obligation(session, plan_id, period)
    if reporting is not None and period.start <= reporting.due < closing:
        return reporting.due
    return closing


def _issued(session: Session, plan_id: str) -> set[str]:
    return {d.get("quarter") for d in session.execute(select(AuditEvent.details).where(
        AuditEvent.plan_id == plan_id, AuditEvent.action == ISSUED)).scalars()}


def due_quarter(engine: Engine, plan_id: str, now: dt.datetime) -> Period | None:
    """The latest quarter of the plan's period whose report day has come and which has no
    report yet. Only the latest: a plan loaded in December does not issue March's."""
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        if plan is None:
            return None
        today = plan_day(now, plan.timezone)
        start = current_plan(engine, plan_id).loaded.compiled.plan.period.start
        year, q = quarter_of(today)
        for _ in range(2):  # this quarter (an early reporting item) or the one just closed
            period = report_period(year, q)
            if period.end >= start and (plan.period_end is None or period.start <= plan.period_end) \
                    and report_day(session, plan_id, period) <= today:
                return None if period.code in _issued(session, plan_id) else period
            year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return None


def issue(engine: Engine, settings: Settings, plan_id: str, period: Period, now: dt.datetime) -> Issued:
    report = build_report(engine, plan_id, period, now=now, base_url=settings.base_url)
    folder = settings.home / "reports" / plan_id
    folder.mkdir(parents=True, exist_ok=True)
    form = build_form_report(engine, plan_id, period, now=now, base_url=settings.base_url) \
        if is_form_plan(engine, plan_id) else None
    files, form_files = {}, {}
    for fmt in FORMATS:
        files[fmt] = folder / file_name(report, fmt)
        write_atomically(files[fmt], render(report, fmt), force=True)
        if form is not None:
            form_files[fmt] = folder / file_name(form, fmt)
            write_atomically(form_files[fmt], render(form, fmt), force=True)
    mailed = form_files or files
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        reporting = _reporting_obligation(session, plan_id, period)
        item_key = session.get(Item, reporting.item_id).key if reporting else None
        filed = session.execute(select(Evidence.id).where(
            Evidence.obligation_id == reporting.id, Evidence.file_name == mailed["docx"].name)).scalar() \
            if reporting else None
    evidence_id = filed
    if reporting is not None and filed is None:
        evidence_id = evidence.submit(
            engine, settings.evidence_dir, plan_id=plan_id, item=item_key, period=reporting.period,
            org=reporting.org_id or None, by=plan.coordinator, now=now, upload=PathSource(mailed["docx"]),
            document_date=report.as_of,
            allow_early="квартальный отчёт" if reporting.opens and report.as_of < reporting.opens else None,
            comment=f"Отчёт о выполнении плана за {period.label} (сформирован)").id
    key = f"report:{plan_id}:{period.code}:{plan.coordinator}"
    with write_session(engine) as session:
        queued = session.execute(select(Outbox.id).where(Outbox.key == key)).first() is None
        outbox.queue_event(
            session, key=key, plan_id=plan_id, kind="report",
            recipient=plan.coordinator, day=plan_day(now, plan.timezone), now=now,
            details={"title": f"Отчёт о выполнении плана за {period.label}", "quarter": period.code,
                     "files": [str(mailed[f].relative_to(settings.home)) for f in MAILED]})
        audit.record(session, actor="nok", action=ISSUED, plan_id=plan_id, at=now,
                     details={"quarter": period.code, "title": period.label, "evidence": evidence_id,
                              "files": [files[f].name for f in FORMATS] + [form_files[f].name for f in form_files]})
    return Issued(period, report, files, evidence_id, queued, form, form_files)


def issue_due(engine: Engine, settings: Settings, plan_id: str, now: dt.datetime) -> Issued | None:
    period = due_quarter(engine, plan_id, now)
    return issue(engine, settings, plan_id, period, now) if period is not None else None
