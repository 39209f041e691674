"""A shortcomings plan (the №457 form) in the plan format: criterion, shortcoming, what was
already done, the plan's organisation, and its report day (the 3rd of the month after the
quarter). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.plan.form457 import criterion_of
from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from nok_workflow.reports.model import report_period
from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import quarterly
from nok_workflow.store.models import AuditEvent, Evidence, Item, Obligation, Plan, Review
from tests.support.paths import PLANS

PLAN = PLANS / "shortcomings-sosh5-2025.yaml"
NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))


def test_the_format_keeps_criterion_shortcoming_and_progress():
    loaded = load_plan(PLAN)
    plan = loaded.plan
    assert plan.kind == "shortcomings" and plan.organisation == "sosh-5" and plan.report_day == 3
    assert [s.criterion for s in plan.sections] == [1, 2, 3, 4, 5]
    assert [criterion_of(s.title) for s in plan.sections] == [1, 2, 3, 4, 5]
    first = plan.sections[0].items[0]
    assert first.shortcoming.startswith("На официальном сайте нет информации")
    assert first.progress.done_on == dt.date(2025, 2, 20)
    assert {e.id: e.organisation for e in plan.directory if e.kind == "person"} == {
        "petrov-ii": "sosh-5", "ivanova-mp": "sosh-5", "sidorov-aa": "sosh-5"}


def test_an_unknown_organisation_is_refused_with_its_place(write_plan):
    text = PLAN.read_text(encoding="utf-8").replace("organisation: sosh-5\nperiod", "organisation: sosh-9\nperiod")
    path = write_plan(text)
    with pytest.raises(InputError) as caught:
        load_plan(path)
    shown = str(caught.value)
    assert "организация плана «sosh-9» не найдена в справочнике" in shown and "plan.yaml:10:" in shown


def test_progress_done_in_the_plan_closes_the_item_once(engine, write_plan):
    plans.load(engine, PLAN, actor=None, now=NOW)
    with Session(engine) as session:
        row = session.get(Plan, "shortcomings-sosh5-2025")
        assert (row.kind, row.organisation_id) == ("shortcomings", "sosh-5")
        done = session.execute(select(Obligation.completed_on, Evidence.comment, Evidence.review, Evidence.file_name)
                               .join(Item, Item.id == Obligation.item_id)
                               .join(Evidence, Evidence.id == Obligation.completed_by_evidence)
                               .where(Item.key == "I.1")).one()
        assert done == (dt.date(2025, 2, 20), "Сведения размещены в разделе «Материально-техническое обеспечение»",
                        "accepted", None)
        assert len(session.execute(select(Obligation.id).where(Obligation.completed_on.is_not(None))).all()) == 1
        assert session.execute(select(Review.reason)).scalars().all() == ["отмечено выполненным в плане"]
    # Loading an amended plan again records nothing twice.
    amended = PLAN.read_text(encoding="utf-8").replace("до 15 ноября 2025 года", "до 20 ноября 2025 года")
    result = plans.load(engine, write_plan(amended), actor=None, now=NOW + dt.timedelta(days=1))
    assert result.applied
    with Session(engine) as session:
        assert len(session.execute(select(Evidence.id)).all()) == 1
        assert len(session.execute(select(AuditEvent.id).where(AuditEvent.action == "progress.record")).all()) == 1


def test_the_report_day_is_the_third_of_the_month_after_the_quarter(engine):
    plans.load(engine, PLAN, actor=None, now=NOW)
    with Session(engine) as session:
        days = [quarterly.report_day(session, "shortcomings-sosh5-2025", report_period(2025, q)) for q in (1, 2, 3, 4)]
    assert days == [dt.date(2025, 4, 3), dt.date(2025, 7, 3), dt.date(2025, 10, 3), dt.date(2026, 1, 3)]
    on_second = dt.datetime(2025, 4, 2, 12, 0, tzinfo=NOW.tzinfo)
    assert quarterly.due_quarter(engine, "shortcomings-sosh5-2025", on_second) is None
    assert quarterly.due_quarter(engine, "shortcomings-sosh5-2025", on_second + dt.timedelta(days=1)).code == "2025Q1"
