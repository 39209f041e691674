"""Assessment campaigns on both stores: created with an id from the title; plans attached, one
per organisation and year (a second refused naming both); many documents uploaded at once — a
zip's members each a draft or a reason (a picture, a nested zip, a document that is no plan),
nothing left of a refused file; drafts applied into the campaign; the dashboard counted in one
grouped query and sorted by what needs attention; another coordinator sees nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from nok_workflow.problems import InputError
from nok_workflow.services.commands import accounts, campaign_upload, campaigns, drafts, plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read import campaigns as campaign_view
from nok_workflow.store.models import AuditEvent, Plan, PlanDraft
from tests.support.campaign_documents import school_plan, zip_of
from tests.support.paths import PLANS
from tests.support.web import MOMENT, PASSWORD

SOSH5 = PLANS / "shortcomings-sosh5-2025.yaml"
NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200


def _word_letter() -> bytes:
    """A Word document that is no plan: an order's text, no table."""
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("Приказ о проведении независимой оценки качества условий образовательной деятельности")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _copy(write_plan, plan_id: str, organisation: str | None = None, name: str = "copy.yaml"):
    text = SOSH5.read_text(encoding="utf-8").replace("id: shortcomings-sosh5-2025", f"id: {plan_id}", 1)
    if organisation is not None:
        text = text.replace("organisation: sosh-5\nperiod", f"organisation: {organisation}\nperiod", 1)
        text = text.replace("  - id: sosh-5\n", f"  - id: {organisation}\n", 1)
        text = text.replace("organisation: sosh-5\n", f"organisation: {organisation}\n")
    return write_plan(text, name)


def test_a_campaign_gets_an_id_from_its_title_unique_and_is_the_owners_alone(engine):
    assert campaigns.create(engine, owner="uo", title="  НОК   2024 ", year=2024, now=NOW) == "nok-2024"
    assert campaigns.create(engine, owner="uo", title="НОК 2024", year="2024", now=NOW) == "nok-2024-2"
    assert campaigns.create(engine, owner="other", title="Оценка школ", year=2025, now=NOW) == "otsenka-shkol"
    campaigns.rename(engine, "nok-2024-2", owner="uo", title="НОК 2024 (повтор)", now=NOW)
    assert [(c.id, c.title, c.year, c.plans) for c in campaign_view.campaigns(engine, "uo")] == [
        ("nok-2024", "НОК 2024", 2024, 0), ("nok-2024-2", "НОК 2024 (повтор)", 2024, 0)]
    with pytest.raises(campaign_view.CampaignNotFound):
        campaign_view.dashboard(engine, "otsenka-shkol", "uo", NOW)
    with pytest.raises(campaign_view.CampaignNotFound):
        campaigns.rename(engine, "otsenka-shkol", owner="uo", title="Чужая", now=NOW)
    for title, year, said in (("", 2024, "у кампании должно быть название"),
                              ("НОК", "двадцать", "год кампании «двадцать» записан неверно")):
        with pytest.raises(InputError) as caught:
            campaigns.create(engine, owner="uo", title=title, year=year, now=NOW)
        assert said in str(caught.value)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "campaign.create")).scalar_one() == 3


def test_one_plan_per_organisation_and_year(engine, write_plan):
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=NOW)
    plans.load(engine, SOSH5, actor=None, now=NOW)
    plans.load(engine, _copy(write_plan, "shortcomings-sosh7-2025", "sosh-7", "s7.yaml"), actor=None, now=NOW)
    plans.load(engine, _copy(write_plan, "sosh5-again-2025", None, "again.yaml"), actor=None, now=NOW)
    campaigns.attach(engine, campaign, owner="uo", plan_id="shortcomings-sosh5-2025", now=NOW)
    campaigns.attach(engine, campaign, owner="uo", plan_id="shortcomings-sosh7-2025", now=NOW)
    campaigns.attach(engine, campaign, owner="uo", plan_id="shortcomings-sosh5-2025", now=NOW)  # again: no change
    with pytest.raises(InputError) as caught:
        campaigns.attach(engine, campaign, owner="uo", plan_id="sosh5-again-2025", now=NOW)
    said = str(caught.value)
    assert "уже есть план организации «sosh-5» на 2025 год" in said
    assert "(id shortcomings-sosh5-2025)" in said and "(id sosh5-again-2025)" in said
    with Session(engine) as session:
        assert session.get(Plan, "sosh5-again-2025").campaign_id is None
    with pytest.raises(InputError, match="не загружен или его ведёт другой координатор"):
        campaigns.attach(engine, campaign, owner="uo", plan_id="nope", now=NOW)
    assert [c.plans for c in campaign_view.campaigns(engine, "uo")] == [2]


def test_a_zip_of_documents_becomes_drafts_and_each_refused_file_says_why(engine):
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=MOMENT)
    letter = "Уважаемые коллеги!\nПросим направить сведения до пятницы.\n".encode()
    archive = zip_of({"школа-1.docx": school_plan(1), "школа-2.docx": school_plan(2), "фото.jpg": JPEG,
                      "старое/архив.zip": zip_of({"a.docx": school_plan(4)}), "письмо.txt": letter,
                      "__MACOSX/._школа-1.docx": b"junk", "setup.exe": EXE, "приказ.docx": _word_letter()})
    outcomes = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=MOMENT,
                                      files=[("планы.zip", archive), ("sosh-3.docx", school_plan(3))])
    by_name = {o.name: o for o in outcomes}
    assert list(by_name) == ["планы.zip / школа-1.docx", "планы.zip / школа-2.docx", "планы.zip / фото.jpg",
                             "планы.zip / старое/архив.zip", "планы.zip / письмо.txt", "планы.zip / setup.exe",
                             "планы.zip / приказ.docx", "sosh-3.docx"]
    assert "это файл формата EXE" in by_name["планы.zip / setup.exe"].reason
    assert by_name["планы.zip / приказ.docx"].reason.startswith("не удалось прочитать как план: ")
    assert all(by_name[n].draft_id for n in ("планы.zip / школа-1.docx", "планы.zip / школа-2.docx", "sosh-3.docx"))
    assert "изображение" in by_name["планы.zip / фото.jpg"].reason
    assert "вложенный архив" in by_name["планы.zip / старое/архив.zip"].reason
    assert "не удалось прочитать как план" in by_name["планы.zip / письмо.txt"].reason
    with Session(engine) as session:
        stored = session.execute(select(PlanDraft.campaign_id, PlanDraft.source_name)).all()
        plan_ids = sorted(d.content["meta"]["plan_id"] for d in session.execute(select(PlanDraft)).scalars())
    assert sorted(stored) == sorted((campaign, n) for n, o in by_name.items() if o.draft_id)
    assert plan_ids == ["nok-2024-shkola-1", "nok-2024-shkola-2", "nok-2024-sosh-3"]  # from the files' names
    shown = campaign_view.dashboard(engine, campaign, "uo", MOMENT)
    assert len(shown.drafts) == 3 and shown.rows == []

    for files, said in (([], "не выбрано ни одного файла"), ([("", b"")], "не выбрано ни одного файла")):
        with pytest.raises(InputError, match=said):
            campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=MOMENT, files=files)
    bomb = zip_of({"big.txt": b"0" * (50 * 2**20)})
    [refused] = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=MOMENT,
                                       files=[("bomb.zip", bomb)])
    assert refused.draft_id is None and "слишком много" in refused.reason
    with pytest.raises(campaign_view.CampaignNotFound):
        campaign_upload.upload(engine, owner="other", campaign_id=campaign, now=MOMENT,
                               files=[("s.docx", school_plan(1))])


def test_applied_drafts_join_the_campaign_and_the_dashboard_counts_in_one_query(engine):
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=MOMENT)
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=MOMENT)
    outcomes = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=MOMENT,
                                      files=[(f"sosh-{n}.docx", school_plan(n, measures)) for n, measures in
                                             ((1, 2), (2, 3), (3, 3))])
    for o in outcomes[:2]:
        result = drafts.apply(engine, o.draft_id, owner="uo", now=MOMENT)
        assert result.applied
    later = MOMENT + dt.timedelta(days=6)  # 14.10: «до 7 октября» is overdue; drafts last a week
    for plan_id in ("nok-2024-sosh-1", "nok-2024-sosh-2"):
        plan_run.steps(engine, plan_id, later)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        shown = campaign_view.dashboard(engine, campaign, "uo", later)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert sum(1 for s in statements if "FROM obligation" in s and "GROUP BY" in s) == 1
    assert [r.plan_id for r in shown.rows] == ["nok-2024-sosh-2", "nok-2024-sosh-1"]  # the late one first
    assert [(r.counts.late, r.open, r.counts.done) for r in shown.rows] == [(1, 2, 0), (0, 2, 0)]
    assert [d.source_name for d in shown.drafts] == ["sosh-3.docx"]
    assert campaign_view.dashboard(engine, campaign, "uo", later) is shown  # unchanged store: from memory
    with Session(engine) as session:
        assert session.get(Plan, "nok-2024-sosh-1").campaign_id == campaign
    assert campaign_view.campaign_of_plan(engine, "nok-2024-sosh-2") == campaign


def test_a_campaign_draft_that_is_a_second_plan_of_an_organisation_is_refused(engine, write_plan):
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=NOW)
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=NOW)
    plans.load(engine, SOSH5, actor=None, now=NOW)
    campaigns.attach(engine, campaign, owner="uo", plan_id="shortcomings-sosh5-2025", now=NOW)
    # Another plan of the same school, outside the campaign; its new redaction comes as a document
    # into the campaign: the draft carries the plan's organisation over, and is refused.
    # (a campaign's document makes the plan «<campaign>-<file name>»: here that plan's).
    plans.load(engine, _copy(write_plan, "nok-2024-sosh5-extra"), actor=None, now=NOW)
    [made] = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=NOW,
                                    files=[("sosh5-extra.docx", school_plan(5, year=2025))])
    with pytest.raises(InputError) as caught:
        drafts.apply(engine, made.draft_id, owner="uo", now=NOW)
    said = str(caught.value)
    assert "документ «sosh5-extra.docx»" in said and "(id shortcomings-sosh5-2025)" in said
    with Session(engine) as session:
        assert session.get(Plan, "nok-2024-sosh5-extra").campaign_id is None
        assert session.get(Plan, "nok-2024-sosh5-extra").current_version == 1
        assert session.get(PlanDraft, made.draft_id).state == "open"


def test_two_plans_of_one_school_applied_at_the_same_moment_one_joins(engine):
    """The check runs in the load's own transaction, the campaign's row locked first: of two
    drafts of one school applied at once, exactly one plan is written."""
    import threading

    from nok_workflow.services.commands import directory
    from tests.support.campaign_documents import school_form, school_name

    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=MOMENT)
    directory.add(engine, "uo", directory.EntryFields(name=school_name(1)), by="uo", now=MOMENT, entry_id="sosh-1")
    campaign = campaigns.create(engine, owner="uo", title="НОК 2024", year=2024, now=MOMENT)
    made = campaign_upload.upload(engine, owner="uo", campaign_id=campaign, now=MOMENT,
                                  files=[("a.docx", school_form(1)), ("b.docx", school_form(1, excel=False))])
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def apply(draft_id: str) -> None:
        start.wait()
        try:
            outcomes[draft_id] = drafts.apply(engine, draft_id, owner="uo", now=MOMENT).loaded.plan.id
        except InputError as exc:
            outcomes[draft_id] = exc

    threads = [threading.Thread(target=apply, args=(m.draft_id,)) for m in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    applied = [v for v in outcomes.values() if isinstance(v, str)]
    refused = [v for v in outcomes.values() if isinstance(v, InputError)]
    assert len(applied) == 1 and len(refused) == 1, outcomes
    assert "второй план той же организации и года" in str(refused[0])
    with Session(engine) as session:
        assert list(session.execute(select(Plan.id).where(Plan.organisation_id == "sosh-1")).scalars()) == applied
        assert session.get(Plan, applied[0]).campaign_id == campaign
