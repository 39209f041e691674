"""The four seed plans as Word documents, for the importer's tests: which checked plan each seed
is, the seed table's column order, and `build_docx` — a .docx built with python-docx from the
checked YAML with the quirks of real Word plans (see tests/test_importer.py), ruled and landscape
as plans are printed (a PDF's table is found by its lines)."""

from __future__ import annotations

from pathlib import Path

import docx

from nok_workflow.plan.compiled import deadline_text
from nok_workflow.plan.validate import load_plan

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


def build_docx(checked: Path, columns: list[str], path: Path) -> Path:
    plan = load_plan(checked).plan
    names = {e.id: e.name for e in plan.directory} | {"@" + g.id: g.name for g in plan.groups}
    document = docx.Document()
    _landscape(document)
    if plan.approval_act:
        document.add_paragraph(plan.approval_act)
    document.add_paragraph(plan.title)
    table = document.add_table(rows=0, cols=len(columns))
    table.style = "Table Grid"  # ruled, as plans are: a PDF's table is found by its lines
    _widths(table, columns)

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
            table.style = "Table Grid"
            _widths(table, columns)
            add_row(HEADERS)
    document.save(path)
    return path


WIDTHS_CM = {"number": 1.5, "activity": 6.5, "deadline": 4.0, "owners": 5.5, "result": 5.0}  # 22.5 cm


def _landscape(document) -> None:
    """A landscape page, as plans are printed (and so their PDFs)."""
    from docx.enum.section import WD_ORIENT

    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width


def _widths(table, columns: list[str]) -> None:
    from docx.shared import Cm

    table.autofit = False
    for index, column in enumerate(columns):
        table.columns[index].width = Cm(WIDTHS_CM[column])


# --- a coordinator's own files: a list of schools (Excel) and a small Word plan ---------------

SCHOOLS = 30
GROUP = "Образовательные учреждения"


def schools_xlsx(path: Path) -> Path:
    """The list of 30 schools of the group, with addresses, as a coordinator keeps it in Excel."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Наименование", "Краткое наименование", "Электронная почта", "Группа"])
    for n in range(1, SCHOOLS + 1):
        sheet.append([f"Муниципальное бюджетное общеобразовательное учреждение «Средняя школа № {n}»",
                      f"МБОУ СОШ № {n}", f"school{n}@example.org", GROUP])
    book.save(path)
    return path


def word_plan() -> bytes:
    """A Word plan naming the group of schools and two people who have no address yet."""
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("План мероприятий по независимой оценке качества условий образовательной "
                           "деятельности на 2024 год")
    rows = [("№ п/п", "Наименование мероприятия", "Срок исполнения", "Ответственные", "Результат"),
            ("1", "Размещение информации о НОКО на официальных сайтах", "до 10 октября 2024 г.", GROUP,
             "Ссылка на страницу сайта"),
            ("2", "Сбор сведений об организациях", "до 10 октября 2024 г.", "Методист Иванова И.П.", "Сводка"),
            ("3", "Анализ результатов", "до 20 октября 2024 г.", "Специалист Петров П.П.", "Справка")]
    table = document.add_table(rows=0, cols=5)
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
