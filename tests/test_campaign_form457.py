"""The №457 campaign end to end, across the seams of its parts: a zip of three schools' plans in
the official form — Word, Excel and a PDF printed by LibreOffice — plus a picture and a nested
zip, uploaded into a campaign; the school the directory does not know is offered and added; the
drafts applied; a second plan of one school refused; an executor's upload with its description
in the quarter's report in the form; the campaign's dashboard, its roll-up and its public data
agree with the store and name no person. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from nok_workflow.problems import InputError
from nok_workflow.reports.model import report_period
from nok_workflow.services.commands.evidence import Upload
from nok_workflow.services.commands import (
    accounts,
    campaign_upload,
    campaigns,
    directory,
    draft_organisation,
    drafts,
    evidence,
    publication,
)
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read import campaigns as campaign_view
from nok_workflow.services.read.campaign_rollup import build_rollup
from nok_workflow.services.read.form_report import build_form_report
from nok_workflow.services.read.public_campaign import campaign_view as public_campaign_view
from nok_workflow.services.read.public_formats import campaign_csv, campaign_json, plan_csv, plan_json
from nok_workflow.services.read.public_progress import plan_view
from nok_workflow.store.models import Obligation, Party, Plan
from tests.support.campaign_documents import zip_of
from tests.support.form457 import PDF
from tests.support.form457_documents import MEASURES, PEOPLE, form457_docx, form457_pdf, form457_xlsx
from tests.support.web import PASSWORD

MSK = dt.timezone(dt.timedelta(hours=3))
NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=MSK)
SCHOOLS = {"МБОУ «СОШ № 5»": "sosh-5", "МБОУ «Гимназия № 2»": "gimnaziya-2", "МБДОУ «Детский сад № 7»": None}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
BASE = "https://nok.example.org"


NAMES = [["Петров Иван Игоревич", "Иванова Мария Петровна", "Сидоров Алексей Андреевич"],
         ["Кузнецова Ольга Викторовна", "Смирнов Павел Сергеевич", "Волкова Анна Дмитриевна"],
         ["Орлова Елена Николаевна", "Зайцев Роман Олегович", "Морозова Ирина Юрьевна"]]


def _people(n: int) -> list[dict]:
    """Each school its own people (their names must never reach the public data)."""
    return [{"name": name, "position": p["position"]} for name, p in zip(NAMES[n], PEOPLE, strict=True)]


@pytest.fixture
def documents(tmp_path, office_profile):
    made = {}
    for n, (org, _) in enumerate(SCHOOLS.items()):
        people = _people(n)
        measures = _measures(people)
        path = tmp_path / ["sosh5.docx", "gimnaziya2.xlsx", "ds7.pdf"][n]
        if n == 0:
            form457_docx(path, org=org, people=people, measures=measures)
        elif n == 1:
            form457_xlsx(path, org=org, people=people, measures=measures)
        else:
            form457_pdf(path, office_profile, org=org, people=people, measures=measures)
        made[path.name] = (path.read_bytes(), people)
    return made


def _measures(people: list[dict]) -> list[dict]:
    rename = {p["name"]: q["name"] for p, q in zip(PEOPLE, people, strict=True)}
    return [m | {"owners": [rename[o] for o in m["owners"]]} for m in MEASURES]


def test_a_campaign_of_form_plans_from_a_zip_to_its_reports_and_public_data(engine, documents, tmp_path):
    accounts.add(engine, login="uo", name="Управление образования", email="nok@uo.example.org",
                 password=PASSWORD, now=NOW)
    for org, entry_id in SCHOOLS.items():
        if entry_id:  # the coordinator's list of schools knows two of the three
            directory.add(engine, "uo", directory.EntryFields(name=org), by="uo", now=NOW, entry_id=entry_id)
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2025, now=NOW)
    archive = zip_of({name: data for name, (data, _) in documents.items()}
                     | {"фото.jpg": JPEG, "старое.zip": zip_of({"a.docx": b"x"})})
    outcomes = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=NOW,
                                      files=[("школы.zip", archive)])
    by_name = {o.name.split(" / ")[-1]: o for o in outcomes}
    assert {n for n, o in by_name.items() if o.draft_id} == set(documents)
    assert "вложенный архив" in by_name["старое.zip"].reason and by_name["фото.jpg"].reason

    # The kindergarten is not in the directory: its draft says so, and applying waits for the button.
    kindergarten = by_name["ds7.pdf"].draft_id
    with pytest.raises(InputError):
        drafts.apply(engine, kindergarten, owner="uo", now=NOW)
    added = draft_organisation.add_organisation(engine, kindergarten, owner="uo", now=NOW)
    applied = {name: drafts.apply(engine, by_name[name].draft_id, owner="uo", now=NOW).loaded.plan
               for name in documents}
    assert {p.organisation for p in applied.values()} == {"sosh-5", "gimnaziya-2", added}
    assert all(p.kind == "shortcomings" and p.report_day == 3 for p in applied.values())
    with Session(engine) as session:
        assert {p.campaign_id for p in session.execute(select(Plan)).scalars()} == {campaign}

    # A second plan of the same school in the same campaign is refused, naming both.
    again = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=NOW,
                                   files=[("sosh5-novyi.docx", documents["sosh5.docx"][0])])
    with pytest.raises(InputError) as caught:
        drafts.apply(engine, again[0].draft_id, owner="uo", now=NOW)
    assert applied["sosh5.docx"].id in str(caught.value)

    # The school's deputy uploads a document with what was done; the coordinator accepts it.
    school = applied["sosh5.docx"]
    deputy = next(e for e in school.directory if e.position == "заместитель директора по УВР")
    assert deputy.organisation == "sosh-5" and deputy.escalates_to != "uo"
    done = evidence.submit(engine, tmp_path / "evidence", plan_id=school.id, item="IV.5", by=deputy.id, now=NOW + dt.timedelta(days=20),
                           upload=Upload(PDF, "protokol-seminara.pdf"), document_date=dt.date(2025, 3, 28),
                           comment="Семинар проведён, 24 педагога")
    evidence.review(engine, evidence_id=done.id, accept=True, reason=None, by="uo", now=NOW + dt.timedelta(days=21))

    report_day = dt.datetime(2025, 4, 3, 9, 0, tzinfo=MSK)
    form = build_form_report(engine, school.id, report_period(2025, 1), now=report_day, base_url=BASE)
    seminar = next(r for r in form.rows if r.measure.startswith("Провести семинар"))
    assert [(m.text, m.document, m.document_date) for m in seminar.done] == [
        ("Семинар проведён, 24 педагога", "protokol-seminara.pdf", dt.date(2025, 3, 28))]
    assert seminar.done_on == dt.date(2025, 3, 28)
    first = form.rows[0]
    assert first.done_on == dt.date(2025, 2, 20) and first.done[0].document is None  # done before the import
    ramp = next(r for r in form.rows if r.measure.startswith("Установить пандус"))
    assert ramp.done == [] and ramp.done_on is None and ramp.overdue_since is None  # due in the third quarter
    assert [s.criterion for s in form.sections] == [1, 2, 3, 4, 5]

    # The day's runs (as `nok serve` makes them), then the dashboard and the roll-up count what the store holds.
    for plan in applied.values():
        plan_run.steps(engine, plan.id, report_day)
    with Session(engine) as session:
        done_per_plan = dict(session.execute(select(Obligation.plan_id, func.count()).where(
            Obligation.completed_on.is_not(None)).group_by(Obligation.plan_id)).all())
    shown = campaign_view.dashboard(engine, campaign, "uo", report_day)
    assert {r.organisation for r in shown.rows} == set(SCHOOLS)
    assert {r.plan_id: r.counts.done for r in shown.rows} == {
        p.id: done_per_plan.get(p.id, 0) for p in applied.values()}
    rollup = build_rollup(engine, campaign, report_day)
    assert {line.organisation: line.progress.done for line in rollup.organisations} == {
        "МБОУ «СОШ № 5»": 3, "МБОУ «Гимназия № 2»": 2, "МБДОУ «Детский сад № 7»": 2}

    # The open data of the campaign and of each plan name positions, never a person.
    assert public_campaign_view(engine, campaign, report_day) is None  # until the coordinator opens it
    publication.set_campaign_public(engine, campaign, True, by="uo", now=report_day)
    public = [json.dumps(campaign_json(public_campaign_view(engine, campaign, report_day), BASE), ensure_ascii=False),
              campaign_csv(public_campaign_view(engine, campaign, report_day)).decode("utf-8-sig")]
    for plan in applied.values():
        view = plan_view(engine, plan.id, report_day)
        public += [json.dumps(plan_json(view, BASE), ensure_ascii=False), plan_csv(view).decode("utf-8-sig")]
    with Session(engine) as session:
        people = session.execute(select(Party.name).where(Party.kind == "person")).scalars().all()
    assert len(people) == 9
    names = {n for name in people for n in (name, name.split()[0])}
    for text in public:
        assert not [n for n in names if n in text]
        assert "Семинар проведён" not in text and "protokol-seminara" not in text
    assert "заместитель директора по АХЧ" in public[2]
