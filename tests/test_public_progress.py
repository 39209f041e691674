"""The public view of a plan's progress and of a campaign (services/read/public_progress.py,
public_campaign.py), their JSON and CSV (public_formats.py), and opening/closing it (services/commands/publication.py): the
outcomes agree with the store row by row, people are named by position only, nothing personal
gets out. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter

import pytest
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.services.commands import publication
from nok_workflow.services.commands.audit import events
from nok_workflow.services.read import public_campaign, public_formats, public_progress
from nok_workflow.services.read.public_progress import WORDS, Counts, outcome_of
from nok_workflow.store.models import Campaign, Item, Obligation, Plan
from tests.support.public_plans import CAMPAIGN, NOW, SOSH5, SOSH7, personal_data, two_schools


def _store_counts(engine, plan_id: str) -> dict[str, Counter]:
    """Each active item's obligations by outcome, one row at a time by `outcome_of`."""
    as_of = plan_day(NOW, "Europe/Moscow")
    found: dict[str, Counter] = {}
    with Session(engine) as session:
        for key, state, completed_on, due, opens in session.execute(
                select(Item.key, Obligation.state, Obligation.completed_on, Obligation.due, Obligation.opens)
                .join(Item, Item.id == Obligation.item_id).where(Obligation.plan_id == plan_id, Item.active)):
            kind = outcome_of(state, completed_on, due, opens, as_of)
            counter = found.setdefault(key, Counter())
            if kind is not None:
                counter[kind] += 1
    return found


def _everything(view, campaign) -> str:
    """What the pages' data says, as text: the views, their JSON and CSV."""
    return "\n".join([repr(view), json.dumps(public_formats.plan_json(view, "http://x"), ensure_ascii=False),
                      public_formats.plan_csv(view).decode("utf-8"), repr(campaign),
                      json.dumps(public_formats.campaign_json(campaign, "http://x"), ensure_ascii=False),
                      public_formats.campaign_csv(campaign).decode("utf-8")])


def test_the_plan_view_counts_what_the_store_holds_and_says_it_in_words(engine, tmp_path):
    two_schools(engine, tmp_path)
    view = public_progress.plan_view(engine, SOSH5, NOW)
    assert view.organisation == "МБОУ «СОШ № 5»" and view.as_of == dt.date(2025, 6, 10)
    assert [(s.number, s.criterion) for s in view.sections] == [("I", 1), ("II", 2), ("III", 3), ("IV", 4), ("V", 5)]
    measures = {m.key: m for s in view.sections for m in s.measures}
    # Row by row, the store's obligations by the report's rule give the same counts.
    store = _store_counts(engine, SOSH5)
    assert {k: Counter({o: n for o, n in m.counts.as_json().items() if n and o != "total"})
            for k, m in measures.items()} == store
    assert view.totals == sum((Counts(**{k: c[k] for k in WORDS}) for c in store.values()), Counts())
    assert view.totals.total == 10 and [sum(m.counts.total for m in s.measures) for s in view.sections] == [
        s.counts.total for s in view.sections]
    # Each status, as the page says it.
    said = {k: (m.status_words, m.completed_on) for k, m in measures.items()}
    assert said["I.1"] == ("выполнено", dt.date(2025, 2, 20))
    assert said["III.5"] == ("выполнено", dt.date(2025, 6, 10))  # the document submitted today
    assert said["IV.6"] == ("просрочено", None)  # by 30 April, nothing yet
    assert said["III.4"] == ("не наступил срок", None)  # the III quarter has not begun
    assert said["II.3"] == ("в работе", None)
    assert said["I.2"][0] == "просрочено" and measures["I.2"].counts.as_json() == {
        "total": 4, "on_time": 0, "late": 0, "overdue": 1, "in_progress": 1, "not_yet": 2}
    assert measures["I.2"].due_dates == [dt.date(2025, 3, 31), dt.date(2025, 6, 30), dt.date(2025, 9, 30),
                                         dt.date(2025, 12, 31)]
    assert measures["I.1"].shortcoming.startswith("На официальном сайте нет информации")
    # The other school's IV.6 was done after its date.
    other = {m.key: m for s in public_progress.plan_view(engine, SOSH7, NOW).sections for m in s.measures}
    assert (other["IV.6"].status_words, other["IV.6"].completed_on) == ("выполнено с опозданием", dt.date(2025, 5, 20))
    assert other["IV.6"].counts.late == 1


def test_people_are_named_by_position_only(engine, tmp_path):
    two_schools(engine, tmp_path)
    five = {m.key: m.responsible for s in public_progress.plan_view(engine, SOSH5, NOW).sections for m in s.measures}
    assert five["I.1"] == ["заместитель директора по УВР"] and five["III.4"] == ["заместитель директора по АХЧ"]
    seven = {m.key: m.responsible for s in public_progress.plan_view(engine, SOSH7, NOW).sections for m in s.measures}
    assert seven["III.4"] == ["ответственный работник"]  # a person without a position in the plan


def test_nothing_personal_gets_into_the_views_json_or_csv(engine, tmp_path):
    two_schools(engine, tmp_path, public_campaign=True)
    shown = _everything(public_progress.plan_view(engine, SOSH5, NOW),
                        public_campaign.campaign_view(engine, CAMPAIGN, NOW))
    shown += _everything(public_progress.plan_view(engine, SOSH7, NOW),
                         public_campaign.campaign_view(engine, CAMPAIGN, NOW))
    leaked = [datum for datum in personal_data(engine) if datum in shown]
    assert leaked == []
    assert "заместитель директора по УВР" in shown and "МБОУ «СОШ № 7»" in shown


def test_the_campaign_view_counts_each_school(engine, tmp_path):
    two_schools(engine, tmp_path)
    assert public_campaign.campaign_view(engine, CAMPAIGN, NOW) is None  # not public
    assert public_campaign.campaign_view(engine, "no-such", NOW) is None
    publication.set_campaign_public(engine, CAMPAIGN, True, by="uo", now=NOW)
    view = public_campaign.campaign_view(engine, CAMPAIGN, NOW)
    assert [(p.organisation, p.plan_id) for p in view.plans] == [("МБОУ «СОШ № 5»", SOSH5), ("МБОУ «СОШ № 7»", SOSH7)]
    for row in view.plans:
        assert row.counts == public_progress.plan_view(engine, row.plan_id, NOW).totals
    assert [p.overdue_measures for p in view.plans] == [2, 1]  # I.2 and IV.6; I.2 only (IV.6 done late)
    assert view.totals.total == 20 and (view.totals.on_time, view.totals.late) == (3, 1)  # I.1 twice, III.5; IV.6


def test_a_plan_is_visible_when_it_or_its_campaign_is_public(engine, tmp_path):
    two_schools(engine, tmp_path)
    assert not public_progress.visible(engine, SOSH5) and not public_progress.visible(engine, "nope")
    assert publication.set_plan_public(engine, SOSH5, True, by="uo", now=NOW)
    assert not publication.set_plan_public(engine, SOSH5, True, by="uo", now=NOW)  # already: nothing recorded
    assert public_progress.visible(engine, SOSH5) and not public_progress.visible(engine, SOSH7)
    publication.set_campaign_public(engine, CAMPAIGN, True, by="uo", now=NOW)
    assert public_progress.visible(engine, SOSH7)
    assert public_progress.plan_view(engine, SOSH7, NOW).campaign == (CAMPAIGN, "НОК-2024: школы Заречного района")
    publication.set_campaign_public(engine, CAMPAIGN, False, by="uo", now=NOW)
    publication.set_plan_public(engine, SOSH5, False, by="uo", now=NOW)
    assert not public_progress.visible(engine, SOSH5) and not public_progress.visible(engine, SOSH7)
    done = [(e.action, e.actor, e.plan_id) for e in events(engine) if "publish" in e.action]
    assert done == [("plan.publish", "uo", SOSH5), ("campaign.publish", "uo", None),
                    ("campaign.unpublish", "uo", None), ("plan.unpublish", "uo", SOSH5)]


def test_only_the_coordinator_or_the_campaign_owner_may_open_a_page(engine, tmp_path):
    two_schools(engine, tmp_path)
    with pytest.raises(publication.NotYours) as refused:
        publication.set_plan_public(engine, SOSH5, True, by="someone", now=NOW)
    assert "не найден среди планов, которые вы ведёте" in str(refused.value)
    with pytest.raises(publication.NotYours):
        publication.set_campaign_public(engine, CAMPAIGN, True, by="someone", now=NOW)
    with pytest.raises(publication.NotYours):
        publication.set_plan_public(engine, "nope", True, by="uo", now=NOW)
    # The campaign's owner may open a plan in it that another coordinator leads.
    with Session(engine) as session:
        session.get(Plan, SOSH7).coordinator = "raion"
        session.get(Campaign, CAMPAIGN).owner = "oblast"
        session.commit()
    assert publication.set_plan_public(engine, SOSH7, True, by="oblast", now=NOW)
    assert publication.set_plan_public(engine, SOSH7, False, by="raion", now=NOW)
    with Session(engine) as session:
        assert [p.public for p in session.execute(select(Plan).order_by(Plan.id)).scalars()] == [False, False]


def test_the_csv_opens_in_russian_excel(engine, tmp_path):
    two_schools(engine, tmp_path)
    data = public_formats.plan_csv(public_progress.plan_view(engine, SOSH5, NOW))
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Раздел", "Критерий", "№", "Недостаток", "Мероприятие", "Плановый срок"]
    assert len(rows) == 1 + 7 and all(len(r) == len(rows[0]) for r in rows)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Раздел"] == "I. Открытость и доступность информации об организации"
    assert (first["Фактический срок"], first["Состояние"], first["Ответственный"]) == (
        "20.02.2025", "выполнено", "заместитель директора по УВР")


def test_a_csv_cell_never_starts_a_formula():
    view = public_campaign.PublicCampaign("k", "K", 2025, dt.date(2025, 1, 1), Counts(), [
        public_campaign.CampaignPlan("p", "=HYPERLINK(\"http://evil\")", "-1+2", Counts(), 0)])
    rows = list(csv.reader(io.StringIO(public_formats.campaign_csv(view).decode("utf-8-sig")), delimiter=";"))
    assert rows[1][:2] == ["'-1+2", "'=HYPERLINK(\"http://evil\")"]
