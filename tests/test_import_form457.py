"""Importing a plan in the official №457 form (plan/form457.py): the same document as .docx
(real merged cells), PDF printed by LibreOffice, .xlsx (merged cells) and tab-separated text
gives the same plan — criterion sections, the shortcoming of each measure (continued over a
merged or empty cell), the organisation of the title, people with positions escalating to the
head and on to the department, progress with its date. Bad input: a clear message, nothing
written. The draft in the browser offers to add an organisation the directory does not know."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import uvicorn
import yaml
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.importer.build import DirectoryFile, import_plan
from nok_workflow.importer.form457_draft import done_on, organisation_of
from nok_workflow.importer.people import parse_people
from nok_workflow.plan import form457
from nok_workflow.problems import InputError
from nok_workflow.services.commands import accounts, draft_organisation, drafts, plans
from nok_workflow.services.read import directory
from nok_workflow.services.read import drafts as review
from nok_workflow.store.models import Evidence, Item, Obligation
from tests.support.badinput import nok
from tests.support.form457_documents import (
    MEASURES,
    ORG,
    form457_docx,
    form457_pdf,
    form457_text,
    form457_xlsx,
)
from tests.support.serve import free_port
from tests.support.web import MOMENT, PASSWORD, sign_in

SHOTS = Path("/tmp/shots-form457")  # docs/screenshots/form457-*.png are copies of these
NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
KNOWN = DirectoryFile.model_validate({"directory": [
    {"id": "uo", "name": "Управление образования администрации Заречного района", "email": "nok@uo.example.org"},
    {"id": "sosh-5", "name": "МБОУ «СОШ № 5»", "email": "sosh5@example.org"},
    {"id": "petrov-ii", "kind": "person", "name": "Петров И.И.", "position": "директор", "organisation": "sosh-5",
     "email": "petrov@example.org", "escalates_to": "uo"},
]})


@pytest.fixture(scope="module")
def documents(tmp_path_factory, office_profile) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("form457")
    text = folder / "form.txt"
    text.write_text(form457_text(), encoding="utf-8")
    return {"docx": form457_docx(folder / "form.docx"), "xlsx": form457_xlsx(folder / "form.xlsx"),
            "text": text, "pdf": form457_pdf(folder / "form.pdf", office_profile)}


def _data(result) -> dict:
    return yaml.safe_load(result.text)


@pytest.mark.parametrize("kind", ["pdf", "xlsx", "text"])
def test_every_format_gives_the_plan_the_docx_gives(documents, kind):
    expected = _data(import_plan(documents["docx"], output_name="plan.yaml"))
    got = import_plan(documents[kind], output_name="plan.yaml")
    assert _data(got) == expected
    assert not got.report.warnings


def test_the_form_becomes_a_shortcomings_plan(documents):
    result = import_plan(documents["docx"], output_name="plan.yaml")
    data = _data(result)
    plan = result.plan.plan
    assert (plan.kind, plan.report_day, plan.period.start.year) == ("shortcomings", 3, 2025)
    assert plan.id == "nedostatki-mbou-sosh-no-5-2025" and plan.organisation == "mbou-sosh-no-5"
    assert plan.title == f"{form457.TITLE} {ORG} на 2025 год"
    assert [(s.number, s.criterion, s.title) for s in plan.sections] == [
        (form457.ROMAN[n], n, form457.CRITERIA[n]) for n in range(1, 6)]
    items = [i for s in plan.sections for i in s.items]
    assert [i.number for i in items] == ["1", "2", "3", "4", "5", "6"]  # numbered through the plan
    assert [i.title for i in items] == [m["title"] for m in MEASURES]
    # The shortcoming merged over the first two measures is each one's.
    assert [i.shortcoming for i in items] == [m["shortcoming"] for m in MEASURES]
    assert items[0].progress.done_on == dt.date(2025, 2, 20)
    assert items[2].progress.measures == "Закуплена мебель для зоны ожидания"
    assert items[2].progress.done_on == dt.date(2025, 3, 31)  # «март 2025»: the month's last day
    assert items[1].progress is None
    people = {e["id"]: e for e in data["directory"]}
    assert people["ivanova-mp"] == {"id": "ivanova-mp", "name": "Иванова Мария Петровна", "kind": "person",
                                    "position": "заместитель директора по УВР", "organisation": "mbou-sosh-no-5",
                                    "escalates_to": "petrov-ii"}
    assert people["petrov-ii"]["escalates_to"] == "coordinator"  # the head → the department
    assert people["mbou-sosh-no-5"]["escalates_to"] == "coordinator"
    assert items[3].owners == ["sidorov-aa", "petrov-ii"]
    # On the command line an organisation nobody knows gets an entry, with a warning.
    assert any("«МБОУ «СОШ № 5»» из заголовка плана не найдена в справочнике: добавлена запись" in n
               for n in result.report.notes)
    assert any(line.startswith("coordinator:") for line in result.report.created)


def test_the_directory_names_the_organisation_its_head_and_the_department(documents):
    result = import_plan(documents["xlsx"], output_name="plan.yaml", directory=KNOWN)
    plan = result.plan.plan
    assert (plan.id, plan.organisation, plan.coordinator) == ("nedostatki-sosh-5-2025", "sosh-5", "uo")
    people = {e.id: e for e in plan.directory}
    assert "petrov-ii-2" not in people and people["petrov-ii"].name == "Петров И.И."  # found by initials
    assert people["sidorov-aa"].escalates_to == "petrov-ii" and people["sidorov-aa"].organisation == "sosh-5"
    assert people["sosh-5"].escalates_to == "uo"
    assert not [n for n in result.report.notes if "справочнике" in n]


def test_progress_read_into_the_store_closes_the_item_done_before(documents, engine, tmp_path):
    path = tmp_path / "nedostatki.yaml"
    path.write_text(import_plan(documents["text"], output_name=str(path), directory=KNOWN).text, encoding="utf-8")
    plans.load(engine, path, actor=None, now=NOW)
    with Session(engine) as session:
        done = session.execute(select(Item.key, Obligation.completed_on, Evidence.comment)
                               .join(Item, Item.id == Obligation.item_id)
                               .join(Evidence, Evidence.id == Obligation.completed_by_evidence)).all()
    assert sorted(done) == [("I.1", dt.date(2025, 2, 20), MEASURES[0]["measures"]),
                            ("II.3", dt.date(2025, 3, 31), MEASURES[2]["measures"])]


def test_cells_people_and_dates_as_schools_write_them():
    assert parse_people("директор Петров Иван Игоревич; Сидоров А.А., заместитель директора по АХЧ") == [
        {"name": "Петров Иван Игоревич", "position": "директор"},
        {"name": "Сидоров А.А.", "position": "заместитель директора по АХЧ"}]
    assert parse_people("заместитель директора по УВР\nИванова М.П.\nзаведующий хозяйством Кузин Пётр Ильич") == [
        {"name": "Иванова М.П.", "position": "заместитель директора по УВР"},
        {"name": "Кузин Пётр Ильич", "position": "заведующий хозяйством"}]
    assert parse_people("Администрация школы") == [{"name": "Администрация школы"}]
    assert organisation_of(f"{form457.TITLE},\nМБДОУ «Детский сад № 3»\nна 2026 год") == ("МБДОУ «Детский сад № 3»", 2026)
    assert done_on("20.02.2025") == (dt.date(2025, 2, 20), None)
    assert done_on("выполнено 5 мая 2025 г.") == (dt.date(2025, 5, 5), None)
    assert done_on("февраль 2025") == (dt.date(2025, 2, 28), None)
    assert done_on("в течение года")[0] is None and "не понят" in done_on("в течение года")[1]


def test_measures_without_a_date_stay_open_with_a_note(tmp_path):
    measures = [dict(MEASURES[0], done=""), *MEASURES[1:]]
    path = tmp_path / "form.txt"
    path.write_text(form457_text(measures=measures), encoding="utf-8")
    result = import_plan(path, output_name="plan.yaml")
    first = result.plan.plan.sections[0].items[0]
    assert first.progress.measures == MEASURES[0]["measures"] and first.progress.done_on is None
    assert any("указаны реализованные меры без фактического срока — пункт остаётся открытым" in n
               for n in result.report.notes)


class _Run:
    def __init__(self, done) -> None:
        self.exit_code = done.returncode
        self.output = done.stdout.decode() + done.stderr.decode()


def _nok(tmp_path: Path, *args: str) -> _Run:
    return _Run(nok("plan", "import", *args, home=tmp_path / "home"))


def test_a_missing_column_is_named_with_what_was_found(tmp_path):
    columns = list(form457.COLUMNS)
    columns[2] = "Примечание"
    path = form457_docx(tmp_path / "form.docx", columns=tuple(columns))
    out = tmp_path / "plan.yaml"
    run = _nok(tmp_path, str(path), "-o", str(out))
    assert run.exit_code != 0 and not out.exists()
    assert "нет столбца «Плановый срок реализации мероприятия»" in run.output
    assert "таблица 1, строка 1" in run.output and "«Примечание»" in run.output and "Traceback" not in run.output


def test_a_measure_without_a_responsible_person_is_an_error_at_its_row(tmp_path):
    measures = [*MEASURES[:4], dict(MEASURES[4], owners=[]), MEASURES[5]]
    path = form457_docx(tmp_path / "form.docx", measures=measures)
    out = tmp_path / "plan.yaml"
    run = _nok(tmp_path, str(path), "-o", str(out))
    assert run.exit_code != 0 and not out.exists()
    assert "таблица 1, строка 12: у мероприятия 5 («Провести семинар" in run.output
    assert "не указан ответственный исполнитель" in run.output


def test_the_command_reports_each_measures_shortcoming_and_section_criterion(documents, tmp_path):
    out = tmp_path / "plan.yaml"
    run = _nok(tmp_path, str(documents["docx"]), "-o", str(out))
    assert run.exit_code == 0, run.output
    assert "План устранения недостатков (форма № 457): МБОУ «СОШ № 5» (mbou-sosh-no-5)" in run.output
    assert "I. Открытость и доступность информации об организации — критерий 1" in run.output
    assert "2. Обновлять раздел сайта при каждом изменении сведений" in run.output
    assert "недостаток: На официальном сайте нет информации" in run.output


def _coordinator(engine) -> None:
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=MOMENT)


def test_an_unknown_organisation_is_offered_to_the_directory_not_created(engine, documents):
    _coordinator(engine)
    draft_id = drafts.create(engine, owner="uo", name="form.docx", data=documents["docx"].read_bytes(), now=MOMENT)
    shown = review.view(engine, draft_id, "uo", MOMENT)
    assert shown.organisation == ORG and not shown.organisation_known
    assert shown.problems == [f"организация «{ORG}» из заголовка плана не найдена в справочнике: добавьте её в справочник"]
    assert [r.criterion for r in shown.rows][:2] == [1, 1] and shown.rows[1].shortcoming == MEASURES[1]["shortcoming"]
    with pytest.raises(InputError):
        drafts.preview(engine, draft_id, owner="uo", now=MOMENT)
    entry_id = draft_organisation.add_organisation(engine, draft_id, owner="uo", now=MOMENT)
    assert directory.entry(engine, "uo", entry_id).name == ORG
    shown = review.view(engine, draft_id, "uo", MOMENT)
    assert shown.organisation_known and not shown.problems and shown.meta["plan_id"] == f"nedostatki-{entry_id}-2025"
    loaded = drafts.apply(engine, draft_id, owner="uo", now=MOMENT)
    assert loaded.applied and loaded.diff.plan_id == f"nedostatki-{entry_id}-2025"
    # Adding it again finds the entry: one organisation, not two.
    second = drafts.create(engine, owner="uo", name="form.docx", data=documents["docx"].read_bytes(), now=MOMENT)
    assert review.view(engine, second, "uo", MOMENT).organisation_known


@pytest.mark.slow
def test_the_draft_page_adds_the_organisation_in_chromium(engine, app_of, browser, documents):
    from playwright.sync_api import expect

    _coordinator(engine)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = app_of(engine, base_url=origin)
    sign_in(app)  # the account works
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="ru-RU")
            page.set_default_timeout(20_000)
            page.goto(f"{origin}/login")
            page.get_by_role("textbox", name="Логин").fill("uo")
            page.get_by_label("Пароль").fill(PASSWORD)
            page.get_by_role("button", name="Войти").click()
            page.locator('input[type="file"]').set_input_files(str(documents["docx"]))
            page.get_by_role("button", name="Проверить файл").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("План по устранению недостатков")
            first = page.locator("article.draft-row").first
            expect(first).to_contain_text("критерий 1")
            expect(first.locator(".draft-shortcoming")).to_contain_text("На официальном сайте нет информации")
            if width == 375:  # the first upload: the directory does not know the school yet
                expect(page.locator(".draft-organisation")).to_contain_text("нет в справочнике")
                expect(page.get_by_role("button", name="Применить…")).to_be_disabled()
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(SHOTS / f"form457-draft-{width}.png"), full_page=True)
                page.get_by_role("button", name=f"Добавить «{ORG}» в справочник").click()
                expect(page.get_by_role("status")).to_contain_text("Организация добавлена в справочник")
            expect(page.locator(".draft-organisation")).to_contain_text("есть в справочнике")
            expect(page.get_by_role("button", name="Применить…")).to_be_enabled()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(SHOTS / f"form457-resolved-{width}.png"), full_page=False)
            page.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_number_column_keeps_the_documents_numbers_and_one_cell_may_name_no_person(tmp_path):
    lines = form457_text().splitlines()
    header = lines.index(next(x for x in lines if x.startswith("Недостатки")))
    numbered, n = [], 0
    for index, line in enumerate(lines):
        if index < header:
            numbered.append(line)
        elif index in (header, header + 1, header + 2):
            numbered.append(("№ п/п" if index == header else "") + "\t" + line)
        elif "\t" not in line:
            numbered.append(line)  # a section spans the table
        else:
            n += 1
            numbered.append(f"{n}.{n}\t" + line)
    numbered[-1] = numbered[-1].replace("Иванова Мария Петровна, заместитель директора по УВР", "Администрация школы")
    path = tmp_path / "form.txt"
    path.write_text("\n".join(numbered) + "\n", encoding="utf-8")
    plan = import_plan(path, output_name="plan.yaml").plan.plan
    items = [i for s in plan.sections for i in s.items]
    assert [i.number for i in items] == ["1.1", "2.2", "3.3", "4.4", "5.5", "6.6"]
    assert items[-1].owners == ["administratsiia-shkoly"]


def test_a_draft_row_without_a_responsible_person_waits_for_a_correction(engine, tmp_path):
    _coordinator(engine)
    measures = [*MEASURES[:4], dict(MEASURES[4], owners=[]), MEASURES[5]]
    data = form457_docx(tmp_path / "form.docx", measures=measures).read_bytes()
    draft_id = drafts.create(engine, owner="uo", name="form.docx", data=data, now=MOMENT)
    draft_organisation.add_organisation(engine, draft_id, owner="uo", now=MOMENT)
    shown = review.view(engine, draft_id, "uo", MOMENT)
    row = next(r for r in shown.rows if r.title == MEASURES[4]["title"])
    assert "нет ответственных" in row.attention and shown.rows[0] is row  # first: it needs a person
    assert shown.problems == [(f"таблица 1, строка 12: у мероприятия 5 («{MEASURES[4]['title']}») не указан "
                               "ответственный исполнитель — укажите фамилию, имя, отчество и должность")]
    ivanova = next(o.ref for r in shown.rows for o in r.owners if o.name == "Иванова Мария Петровна")
    drafts.edit_row(engine, draft_id, owner="uo", now=MOMENT, row=row.key, owners=[ivanova])
    assert not review.view(engine, draft_id, "uo", MOMENT).problems
