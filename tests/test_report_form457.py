"""The progress report in the form № 457 of two schools' shortcomings plans, after a spring of
their executors' work, compared cell by cell with the store: the Word table (python-docx) and
the Excel sheet (openpyxl) — the form's header, numbering row, criterion sections, every
measure's shortcoming, deadline, responsible person, the measures done (the executor's words,
the document and its date, the link) and the actual date; the overdue mark. Then the files as
LibreOffice prints them, the quarterly issue on the report day, and `nok report`. SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.plan import form457
from nok_workflow.plan.validate import load_plan
from nok_workflow.reports.formats import file_name, render
from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.model import report_period
from nok_workflow.services.jobs import quarterly
from nok_workflow.services.read.form_report import build_form_report
from nok_workflow.services.read.party_view import period_label
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from nok_workflow.store.models import Evidence, Item, Obligation, Outbox, Party, Plan
from nok_workflow.text import date_short
from tests.support.cli import run_nok
from tests.support.form457 import (
    BASE,
    EXAMPLE,
    GIM1,
    REPORT_DAY,
    SOSH5,
    school_plan,
    spring_2025,
)

Q2 = report_period(2025, 2)


def form(engine, plan_id: str) -> FormReport:
    return build_form_report(engine, plan_id, Q2, now=REPORT_DAY, base_url=BASE)


def expected(engine, plan_id: str, source: Path) -> list[tuple[str, ...]]:
    """The form's rows recounted from the store (and the plan's text for what the store does not
    keep: criteria, shortcomings, positions): a section row is its title alone."""
    plan_file = load_plan(source).plan
    positions = {d.id: d.position for d in plan_file.directory}
    as_of = REPORT_DAY.date()
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        names = dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())
        items = {i.key: i for i in session.execute(select(Item).where(Item.plan_id == plan_id)).scalars()}
        rows: list[tuple[str, ...]] = []
        for section in plan_file.sections:
            rows.append((form457.criterion_title(section.criterion),))
            for it in section.items:
                item = items[f"{section.number}.{it.number}"]
                obs = session.execute(select(Obligation).where(Obligation.item_id == item.id)
                                      .order_by(Obligation.due)).scalars().all()
                several = len(obs) > 1
                measures = []
                for e, ob in session.execute(select(Evidence, Obligation).join(Obligation)
                                             .where(Obligation.item_id == item.id)
                                             .order_by(Evidence.document_date, Evidence.id)).all():
                    if e.review == "accepted" or (e.review == "pending" and not plan.review_required):
                        head = f"{period_label(ob.period)}: " if several else ""
                        if e.file_name is None and e.url is None:
                            measures.append(f"{head}{e.comment} ({date_short(e.document_date)})")
                        else:
                            measures.append(f"{head}{e.comment} — {e.file_name or e.url} от "
                                            f"{date_short(e.document_date)}")
                done = [o for o in obs if o.completed_on]
                actual = []
                if done:
                    actual.append(date_short(max(o.completed_on for o in done)))
                    if several:
                        actual[0] += (f" (выполнено {len(done)} из {len(obs)}: "
                                      + ", ".join(period_label(o.period) for o in done) + ")")
                late = [o.due for o in obs if o.completed_on is None and o.due < as_of]
                if late:
                    actual.append(f"просрочено (срок {date_short(min(late))})")
                rows.append((it.shortcoming, item.title, item.deadline_text,
                             "\n".join(f"{names[o]}, {positions[o]}" for o in item.owners),
                             "\n".join(measures), "\n".join(actual)))
    return rows


def docx_rows(body: bytes) -> tuple[list[list[str]], list[tuple[str, ...]], Document]:
    doc = Document(io.BytesIO(body))
    table = doc.tables[0]
    head = [[c.text for c in row.cells] for row in table.rows[:3]]
    rows = []
    for row in table.rows[3:]:
        texts = [c.text for c in row.cells]
        rows.append((texts[0],) if len(set(texts)) == 1 else tuple(texts))
    return head, rows, doc


def xlsx_rows(body: bytes):
    ws = load_workbook(io.BytesIO(body)).active
    rows = []
    for r in range(8, ws.max_row + 1):
        values = tuple("" if ws.cell(r, c).value is None else str(ws.cell(r, c).value) for c in range(1, 7))
        rows.append(values[:1] if f"A{r}:F{r}" in {str(m) for m in ws.merged_cells.ranges} else values)
    return ws, rows


@pytest.fixture
def spring(engine, tmp_path):
    spring_2025(engine, tmp_path / "evidence", tmp_path)
    return {SOSH5: EXAMPLE, GIM1: tmp_path / f"{GIM1}.yaml"}


def test_the_form_in_word_and_excel_agrees_with_the_store_cell_by_cell(engine, spring):
    for plan_id, source in spring.items():
        want = expected(engine, plan_id, source)
        report = form(engine, plan_id)
        head, rows, doc = docx_rows(render(report, "docx"))
        assert head[0] == [*form457.COLUMNS[:4], form457.PROGRESS_HEADER, form457.PROGRESS_HEADER]
        assert head[1][4:] == list(form457.COLUMNS[4:]) and head[1][:4] == list(form457.COLUMNS[:4])  # merged
        assert head[2] == ["1", "2", "3", "4", "5", "6"]
        assert rows == want, plan_id
        paragraphs = [p.text for p in doc.paragraphs]
        title = " ".join(report.plan_title.split())
        assert paragraphs[:3] == [title, "Сведения о ходе реализации за II квартал 2025 года",
                                  "по состоянию на 03.07.2025"]
        ws, cells = xlsx_rows(render(report, "xlsx"))
        assert cells == want, plan_id
        assert [ws.cell(5, c).value for c in range(1, 6)] == [*form457.COLUMNS[:4], form457.PROGRESS_HEADER]
        assert [ws.cell(6, c).value for c in (5, 6)] == list(form457.COLUMNS[4:])
        assert [ws.cell(7, c).value for c in range(1, 7)] == [1, 2, 3, 4, 5, 6]
        assert {"A5:A6", "B5:B6", "C5:C6", "D5:D6", "E5:F5"} <= {str(m) for m in ws.merged_cells.ranges}
        assert ws.print_title_rows == "$5:$7" and ws.freeze_panes == "A8"  # the header on every page, fixed
        assert all(ws.cell(9, c).alignment.wrap_text for c in range(1, 7))
        assert [round(ws.column_dimensions[k].width) for k in "ABCDEF"] == [32, 36, 16, 26, 42, 20]


def test_what_each_measure_shows(engine, spring):
    """The cases by name: what the recount above cannot mistake for each other."""
    by = {(plan_id, r.measure): r for plan_id in spring for r in form(engine, plan_id).rows}
    site = by[(SOSH5, "Обновлять раздел сайта при каждом изменении сведений")]
    assert site.measures_text == (
        "I квартал 2025: Раздел «Материально-техническое обеспечение» обновлён — Скриншот раздела, март.pdf "
        "от 28.03.2025\nII квартал 2025: Добавлены сведения о новом спортзале — Скриншот раздела, июнь.pdf от 02.07.2025")
    assert site.done_text == "02.07.2025 (выполнено 2 из 4: I квартал 2025, II квартал 2025)"
    assert [m.url for m in site.done] == [f"{BASE}/plans/{SOSH5}/evidence/{n}/file" for n in (3, 4)]
    zone = by[(SOSH5, "Оборудовать зону ожидания для родителей в холле первого этажа")]
    assert zone.done[0].url == "https://sosh5.example.org/news/zona-ojidaniya".replace("ojid", "ozhid")
    assert zone.done_text == "20.05.2025"
    # The plan's own progress: its words and date, no document
    first = by[(GIM1, "Разместить на сайте сведения о материально-техническом обеспечении")]
    assert first.measures_text == "Сведения размещены в разделе «Материально-техническое обеспечение» (20.02.2025)"
    assert first.done[0].document is None and first.done[0].url is None
    # Overdue in one school, done (accepted) in the other
    seminar = "Провести семинар для педагогов по этике общения с родителями"
    assert by[(SOSH5, seminar)].done_text == "просрочено (срок 30.04.2025)" and not by[(SOSH5, seminar)].done
    assert by[(GIM1, seminar)].done_text == "25.04.2025"
    # Rejected, and not yet reviewed where review is required: nothing shown, nothing late yet
    for title in ("Установить информационное табло и тактильные таблички",
                  "Оборудовать зону ожидания для родителей в холле первого этажа"):
        assert (by[(GIM1, title)].measures_text, by[(GIM1, title)].done_text) == ("", "")


def test_html_and_json_say_the_same(engine, spring):
    report = form(engine, GIM1)
    html = render(report, "html").decode("utf-8")
    assert html.count('<th rowspan="2" scope="col">') == 4 and f'colspan="2" scope="colgroup">{form457.PROGRESS_HEADER}' in html
    assert f'<a href="{BASE}/plans/{GIM1}/evidence/' in html and "Протокол семинара.pdf</a> от 25.04.2025" in html
    assert "просрочено (срок 30.04.2025)" not in html and "<script" not in html
    data = json.loads(render(report, "json"))
    assert data["sections"][3]["rows"][0]["done"][0]["text"] == "Проведён семинар по этике общения, 32 педагога"
    assert FormReport.model_validate(data) == report


def test_the_json_schema_in_docs_is_the_models_and_the_data_keeps_it(engine, spring):
    import jsonschema

    from nok_workflow.reports.json_schema import schema_text
    from tests.support.paths import ROOT

    committed = (ROOT / "docs" / "report-form.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text("form"), "docs/report-form.schema.json is stale: .venv/bin/python -m " \
                                             "nok_workflow.reports.json_schema form > docs/report-form.schema.json"
    validator = jsonschema.Draft202012Validator(json.loads(committed))
    data = json.loads(render(form(engine, SOSH5), "json"))
    assert list(validator.iter_errors(data)) == []
    data["sections"][0]["rows"][0]["periods_total"] = "один"
    assert len(list(validator.iter_errors(data))) == 1


def test_a_plan_of_another_kind_has_no_form(engine):
    from nok_workflow.problems import InputError
    from nok_workflow.services.commands import plans
    from tests.support.paths import PLANS

    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=REPORT_DAY)
    with pytest.raises(InputError, match="не план устранения недостатков"):
        build_form_report(engine, "orenburg-raion-2024", Q2, now=REPORT_DAY, base_url=BASE)


def test_the_report_day_issues_the_form_and_mails_its_word_and_excel(engine, spring, tmp_path):
    settings = Settings(home=tmp_path / "home", base_url=BASE)
    issued = quarterly.issue_due(engine, settings, SOSH5, REPORT_DAY)
    assert issued is not None and issued.period.code == "2025Q2" and issued.form is not None
    assert set(issued.form_files) == {"docx", "xlsx", "html", "json"}
    assert issued.form_files["docx"].name == f"otchet-forma457-{SOSH5}-2025Q2.docx"
    assert issued.form_files["json"].read_bytes() == render(form(engine, SOSH5), "json")
    assert docx_rows(issued.form_files["docx"].read_bytes())[1] == expected(engine, SOSH5, EXAMPLE)
    with Session(engine) as session:
        details = session.execute(select(Outbox.details).where(Outbox.kind == "report")).scalar_one()
    assert details["files"] == [f"reports/{SOSH5}/otchet-forma457-{SOSH5}-2025Q2.{f}" for f in ("docx", "xlsx")]
    assert quarterly.issue_due(engine, settings, SOSH5, REPORT_DAY) is None  # once


@pytest.mark.slow
def test_libreoffice_prints_the_form(tmp_path, sqlite_template, office_profile):
    import shutil

    path = tmp_path / "nok.db"
    shutil.copyfile(sqlite_template, path)
    engine = connect(f"sqlite:///{path}")
    spring_2025(engine, tmp_path / "evidence", tmp_path)
    report = form(engine, SOSH5)
    engine.dispose()
    names = {fmt: tmp_path / f"{fmt}-form457.{fmt}" for fmt in ("docx", "xlsx")}
    for fmt, name in names.items():
        name.write_bytes(render(report, fmt))
    done = subprocess.run([shutil.which("soffice"), f"-env:UserInstallation={office_profile.as_uri()}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, names.values())],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    for fmt in names:
        pdf = tmp_path / f"{fmt}-form457.pdf"
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        assert "Сведения о ходе реализации мероприятия" in text and "I. Открытость и доступность информации" in text
        # Cells wrap: words of a long cell are looked for one by one
        words = set(text.split())
        assert {"пандусом", "оборудована:", "диваны,", "кулер,", "Скриншот", "02.07.2025"} <= words, fmt
        assert "просрочено" in words and "30.04.2025)" in words
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        width, height = (float(x) for x in info.split("Page size:")[1].split()[:3:2])
        assert width > height  # landscape
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / fmt)],
                       check=True)
        assert (tmp_path / f"{fmt}-1.png").stat().st_size > 10_000


@pytest.mark.slow
def test_nok_report_writes_the_form_the_summary_and_refuses(tmp_path):
    env = {"NOK_HOME": str(tmp_path / "home")}
    assert run_nok("plan", "load", str(EXAMPLE), "--now", "2025-03-10", env=env).returncode == 0
    out = tmp_path / "f.docx"
    done = run_nok("report", "--plan", SOSH5, "--quarter", "2025Q2", "-o", str(out), "--now", "2025-07-03", env=env)
    assert done.returncode == 0, done.stderr
    assert "по форме № 457 за II квартал 2025 года, мероприятий 7" in done.stdout
    assert docx_rows(out.read_bytes())[0][2] == ["1", "2", "3", "4", "5", "6"]
    summary = tmp_path / "s.json"
    done = run_nok("report", "--plan", SOSH5, "--quarter", "2025Q2", "--summary", "-o", str(summary),
                   "--now", "2025-07-03", env=env)
    assert done.returncode == 0 and "totals" in json.loads(summary.read_text(encoding="utf-8"))
    for args, message in ((["--plan", SOSH5], "укажите --quarter"), ([], "укажите либо --plan"),
                          (["--plan", SOSH5, "--campaign", "x"], "укажите либо --plan")):
        bad = run_nok("report", *args, "-o", str(tmp_path / "x.json"), env=env)
        assert bad.returncode == 1 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    assert file_name(form_stub(), "xlsx") == "otchet-forma457-p-2025Q2.xlsx"


def form_stub() -> FormReport:
    return FormReport(plan_id="p", plan_title="t", period=Q2, as_of=REPORT_DAY.date(), generated_at=REPORT_DAY,
                      sections=[])


def test_a_school_plan_is_the_example_for_another_school(tmp_path):
    plan = load_plan(school_plan(tmp_path, "sosh-7")).plan
    assert (plan.id, plan.organisation, plan.kind) == ("shortcomings-sosh7-2025", "sosh-7", "shortcomings")
