"""`nok plan import`: the four seeds — as text and as Word documents — give the checked plans.

The .docx files are built here with python-docx from the checked YAML, with the quirks of
real Word plans: the seed's column order, section rows merged across the table, a long
row split over a page (its number cell empty), the header repeated in a second table,
several owners as separate paragraphs of one cell.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest

from nok_workflow.importer.build import import_plan, load_directory
from nok_workflow.plan.compiled import deadline_text
from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from tests.conftest import PLANS, SEEDS, run_nok

CASES = {
    # checked plan: (seed, year given on import, column order of the seed's table)
    "gorod-2018.yaml": ("000_7e7f63a8ee2e07d3.txt", None, ["number", "activity", "deadline", "owners", "result"]),
    "yuzhno-sakhalinsk-2014-2016.yaml": ("001_664c19aa17612197.txt", None,
                                         ["number", "activity", "deadline", "result", "owners"]),
    "orenburg-raion-2024.yaml": ("003_8330ca301da7825b.txt", None,
                                 ["number", "activity", "result", "deadline", "owners"]),
    "informing-2026.yaml": ("004_6701f37071a9af0c.txt", 2026, ["number", "activity", "deadline", "owners"]),
}
HEADERS = {"number": "№ п/п", "activity": "Наименование мероприятия", "deadline": "Срок исполнения",
           "owners": "Ответственные исполнители", "result": "Ожидаемый результат"}


def item_rows(plan_path: Path) -> list[tuple]:
    """(key, number, title, deadline wording, owners, results) of every item, in order."""
    compiled = load_plan(plan_path).compiled
    return [(ci.key, ci.item.number, ci.item.title, deadline_text(ci.item), list(ci.item.owners),
             list(ci.item.results)) for ci in compiled.items]


def imported_rows(document: Path, checked: Path, year: int | None) -> list[tuple]:
    result = import_plan(document, output_name="imported.yaml", year=year,
                         directory=load_directory(checked))
    return [(ci.key, ci.item.number, ci.item.title, deadline_text(ci.item), list(ci.item.owners),
             list(ci.item.results)) for ci in result.plan.compiled.items]


@pytest.mark.parametrize("checked", sorted(CASES), ids=str)
def test_text_seed_imports_to_the_checked_plan(checked):
    seed, year, _ = CASES[checked]
    assert imported_rows(SEEDS / seed, PLANS / checked, year) == item_rows(PLANS / checked)


def build_docx(checked: Path, columns: list[str], path: Path) -> Path:
    plan = load_plan(checked).plan
    names = {e.id: e.name for e in plan.directory} | {"@" + g.id: g.name for g in plan.groups}
    document = docx.Document()
    if plan.approval_act:
        document.add_paragraph(plan.approval_act)
    document.add_paragraph(plan.title)
    table = document.add_table(rows=0, cols=len(columns))

    def add_row(values: dict[str, str]) -> None:
        cells = table.add_row().cells
        for index, column in enumerate(columns):
            parts = values.get(column, "").split("\n\n")
            cells[index].text = parts[0]
            for extra in parts[1:]:
                cells[index].add_paragraph(extra)

    add_row(HEADERS)
    for s_index, section in enumerate(plan.sections):
        if section.number or section.title:
            row = table.add_row()
            merged = row.cells[0].merge(row.cells[-1])
            merged.text = f"{section.number or ''} {section.title}".strip()
            merged.paragraphs[0].runs[0].bold = True
        for i_index, item in enumerate(section.items):
            values = {"number": item.number, "activity": item.title, "deadline": deadline_text(item),
                      "owners": "\n\n".join(names[o] for o in item.owners), "result": " ".join(item.results)}
            if s_index == 0 and i_index == 0 and len(item.title.split()) > 3:
                # A row broken across a page: the rest of the title in a row with no number.
                words = item.title.split()
                add_row({**values, "activity": " ".join(words[:3])})
                add_row({"activity": " ".join(words[3:])})
                continue
            add_row(values)
        if s_index == 0 and len(plan.sections) > 1:
            document.add_paragraph("")  # the table continues on the next page, header repeated
            table = document.add_table(rows=0, cols=len(columns))
            add_row(HEADERS)
    document.save(path)
    return path


@pytest.mark.parametrize("checked", sorted(CASES), ids=str)
def test_docx_imports_to_the_checked_plan(checked, tmp_path):
    _, year, columns = CASES[checked]
    document = build_docx(PLANS / checked, columns, tmp_path / "plan.docx")
    assert imported_rows(document, PLANS / checked, year) == item_rows(PLANS / checked)


def test_title_and_approval_act_come_from_the_preamble():
    result = import_plan(SEEDS / CASES["orenburg-raion-2024.yaml"][0], output_name="p.yaml")
    assert result.plan.plan.approval_act == "Приложение № 1 к протоколу №1 от 17.09.2024 общественного совета"
    assert result.plan.plan.title == load_plan(PLANS / "orenburg-raion-2024.yaml").plan.title
    assert result.plan.plan.period.start.isoformat() == "2024-01-01"


def test_without_a_directory_owners_become_entries_and_groups():
    result = import_plan(SEEDS / CASES["gorod-2018.yaml"][0], output_name="gorod.yaml")
    plan = result.plan.plan
    owners = {ci.key: result.plan.compiled.owner_names(ci.item) for ci in result.plan.compiled.items}
    assert owners["2.1"] == ["Городской Пресс-центр системы образования", "Новикова И.В."]
    assert owners["1.4"] == ["Образовательные учреждения"]
    assert [g.id for g in plan.groups] == ["ou"]
    assert next(e for e in plan.directory if e.name == "Новикова И.В.").kind == "person"
    assert plan.coordinator == next(e.id for e in plan.directory if e.name == "Отдел образования")
    assert any("в группе «@ou» нет ни одной организации" in w for w in result.report.warnings)


def test_report_names_guessed_owner_splits_and_uncertain_wordings():
    result = import_plan(SEEDS / CASES["yuzhno-sakhalinsk-2014-2016.yaml"][0], output_name="ys.yaml")
    assert any(n.startswith("строка 32: ячейка «Муниципальные образовательные организации Департамент "
                            "образования» без запятой разделена по догадке") for n in result.report.notes)
    assert "период плана определён по срокам пунктов: 2014–2016 — проверьте" in result.report.notes
    gorod = import_plan(SEEDS / CASES["gorod-2018.yaml"][0], output_name="g.yaml")
    assert sum("срок не указан" in w for w in gorod.report.warnings) == 3
    assert any("Согласно плану работы" in w for w in gorod.report.warnings)
    assert gorod.report.rows == 15 and gorod.report.sections == 3


def test_command_writes_a_plan_that_validates(tmp_path):
    out = tmp_path / "orenburg.yaml"
    result = run_nok("plan", "import", str(SEEDS / CASES["orenburg-raion-2024.yaml"][0]), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "импортировано 11 пунктов в 3 разделах" in result.stdout
    assert run_nok("plan", "validate", str(out)).returncode == 0
    again = run_nok("plan", "import", str(SEEDS / CASES["orenburg-raion-2024.yaml"][0]), "-o", str(out))
    assert again.returncode == 1 and "файл уже существует" in again.stderr


# --- bad documents: a clear message, no traceback, no output file ------------------------

def _docx_bytes(build) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (120 * 1024 * 1024))
    return buffer.getvalue()


BAD = {
    "no-tables.docx": (lambda: _docx_bytes(lambda d: d.add_paragraph("План без таблицы")),
                       "в документе нет таблиц"),
    "no-header.docx": (lambda: _docx_bytes(lambda d: d.add_table(rows=2, cols=2)),
                       "не найдена строка заголовков таблицы"),
    "encrypted.docx": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024,
                       "файл зашифрован паролем или это старый формат .doc"),
    "corrupt.docx": (lambda: _docx_bytes(lambda d: d.add_table(rows=1, cols=1))[:700],
                     "файл повреждён"),
    "bomb.docx": (_zip_bomb, "слишком много для плана"),
    "empty.docx": (lambda: b"", "файл пуст"),
    "no-header.txt": (lambda: "Просто текст\nбез таблицы\n".encode(), "не найдена строка заголовков таблицы"),
    "cp1251.txt": (lambda: "№\tМероприятие\tСрок\n1\tПлан\tМай\n".encode("cp1251"), "не в кодировке UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_document_fails_cleanly(tmp_path, name):
    make, message = BAD[name]
    document = tmp_path / name
    document.write_bytes(make())
    out = tmp_path / "out.yaml"
    result = run_nok("plan", "import", str(document), "-o", str(out), "--year", "2025")
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_seed_without_year_needs_one(tmp_path):
    with pytest.raises(InputError) as info:
        import_plan(SEEDS / CASES["informing-2026.yaml"][0], output_name="x.yaml")
    assert "в документе не указан год плана" in str(info.value)
