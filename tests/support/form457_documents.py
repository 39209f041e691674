"""Plans in the official №457 form (plan/form457.py) as a school sends them: .docx with real
merged cells (the two-level header, the «Сведения о ходе» span, a shortcoming merged over two
measures), .xlsx with merged cells, the .docx printed to PDF by LibreOffice, and tab-separated
text. One set of data (`form457_rows`) makes all four, so each must import to the same plan.

    measures: [{"criterion": 1..5, "shortcoming", "title", "deadline", "owners": [person name…],
                "measures"?: text, "done"?: text}]  — a shortcoming equal to the one above (same
                criterion) is merged with it (docx, xlsx) or left empty (text)
    people:   [{"name", "position"}] — the owners' names point here
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from nok_workflow.plan import form457

ORG = "МБОУ «СОШ № 5»"
YEAR = 2025
PEOPLE = [
    {"name": "Петров Иван Игоревич", "position": "директор"},
    {"name": "Иванова Мария Петровна", "position": "заместитель директора по УВР"},
    {"name": "Сидоров Алексей Андреевич", "position": "заместитель директора по АХЧ"},
]
_SITE = "На официальном сайте нет информации о материально-техническом обеспечении образовательной деятельности"
MEASURES = [
    {"criterion": 1, "shortcoming": _SITE, "title": "Разместить на сайте сведения о материально-техническом обеспечении",
     "deadline": "до 1 марта 2025 года", "owners": ["Иванова Мария Петровна"],
     "measures": "Сведения размещены в разделе «Материально-техническое обеспечение»", "done": "20.02.2025"},
    {"criterion": 1, "shortcoming": _SITE, "title": "Обновлять раздел сайта при каждом изменении сведений",
     "deadline": "ежеквартально", "owners": ["Иванова Мария Петровна"]},
    {"criterion": 2, "shortcoming": "Недостаточно комфортная зона отдыха (ожидания) для родителей",
     "title": "Оборудовать зону ожидания для родителей в холле первого этажа", "deadline": "до 1 сентября 2025 года",
     "owners": ["Сидоров Алексей Андреевич"], "measures": "Закуплена мебель для зоны ожидания", "done": "март 2025"},
    {"criterion": 3, "shortcoming": "Вход в здание не оборудован пандусом",
     "title": "Установить пандус у центрального входа", "deadline": "III квартал 2025 года",
     "owners": ["Сидоров Алексей Андреевич", "Петров Иван Игоревич"]},
    {"criterion": 4, "shortcoming": "Часть получателей услуг не удовлетворена вежливостью работников",
     "title": "Провести семинар для педагогов по этике общения с родителями", "deadline": "до 30 апреля 2025 года",
     "owners": ["Иванова Мария Петровна"]},
    {"criterion": 5, "shortcoming": "Невысокая доля получателей услуг, готовых рекомендовать организацию",
     "title": "Провести анкетирование родителей и обсудить его итоги на управляющем совете",
     "deadline": "до 15 ноября 2025 года", "owners": ["Иванова Мария Петровна"]},
]


def form457_rows(org: str = ORG, year: int = YEAR, people: list[dict] | None = None,
                 measures: list[dict] | None = None, progress: bool = True) -> dict:
    """The document's text: {"title": [lines], "sections": [(heading, [[6 cells], …])]}, where
    a shortcoming cell that continues the one above is None."""
    people = PEOPLE if people is None else people
    positions = {p["name"]: p.get("position") for p in people}
    sections: list[tuple[str, list[list[str | None]]]] = []
    for measure in MEASURES if measures is None else measures:
        heading = form457.criterion_title(measure["criterion"])
        if not sections or sections[-1][0] != heading:
            sections.append((heading, []))
        rows = sections[-1][1]
        previous = next((r[0] for r in reversed(rows) if r[0] is not None), None)
        owners = "\n".join(f"{n}, {positions[n]}" if positions.get(n) else n for n in measure["owners"])
        rows.append([None if rows and measure["shortcoming"] == previous else measure["shortcoming"],
                     measure["title"], measure["deadline"], owners,
                     measure.get("measures", "") if progress else "", measure.get("done", "") if progress else ""])
    return {"title": [form457.TITLE, f"{org} на {year} год"], "sections": sections}


def form457_docx(path: Path, org: str = ORG, year: int = YEAR, people: list[dict] | None = None,
                 measures: list[dict] | None = None, progress: bool = True, columns: tuple[str, ...] | None = None) -> Path:
    """`columns`: the header's six titles (leave one out by giving it as "" to test a missing column)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    data = form457_rows(org, year, people, measures, progress)
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)  # A4, as a school prints it
    section.left_margin = section.right_margin = Cm(2.0)
    for line in data["title"]:
        document.add_paragraph(line)
    titles = columns or form457.COLUMNS
    table = document.add_table(rows=3, cols=6)
    table.style = "Table Grid"
    table.autofit = False
    widths = [Cm(w) for w in (4.6, 4.7, 4.0, 4.4, 3.6, 2.7)]  # 24 cm: a landscape A4 page
    for index, width in enumerate(widths):
        table.columns[index].width = width
    top, sub, numbers = table.rows
    for index in range(4):
        top.cells[index].merge(sub.cells[index]).text = titles[index]
    top.cells[4].merge(top.cells[5]).text = form457.PROGRESS_HEADER
    sub.cells[4].text, sub.cells[5].text = titles[4], titles[5]
    for index, cell in enumerate(numbers.cells):
        cell.text = str(index + 1)
    for heading, rows in data["sections"]:
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[-1])
        merged.text = heading
        merged.paragraphs[0].runs[0].bold = True
        above = None
        for values in rows:
            cells = table.add_row().cells
            for index, value in enumerate(values[1:], start=1):
                parts = (value or "").split("\n")
                cells[index].text = parts[0]
                for extra in parts[1:]:
                    cells[index].add_paragraph(extra)
            if values[0] is None and above is not None:
                above = above.merge(cells[0])  # one shortcoming over two measures: a real vertical merge
            else:
                cells[0].text = values[0] or ""
                above = cells[0]
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            cell.width = widths[index]  # Word and LibreOffice read a cell's width, not the column's
    document.save(path)
    return path


def form457_xlsx(path: Path, org: str = ORG, year: int = YEAR, people: list[dict] | None = None,
                 measures: list[dict] | None = None, progress: bool = True) -> Path:
    from openpyxl import Workbook

    data = form457_rows(org, year, people, measures, progress)
    book = Workbook()
    sheet = book.active
    sheet.title = "План"
    for line in data["title"]:
        sheet.append([line])
    first = sheet.max_row + 1
    sheet.append([*form457.COLUMNS[:4], form457.PROGRESS_HEADER, None])
    sheet.append([None, None, None, None, *form457.COLUMNS[4:]])
    for column in "ABCD":
        sheet.merge_cells(f"{column}{first}:{column}{first + 1}")
    sheet.merge_cells(f"E{first}:F{first}")
    sheet.append(list(range(1, 7)))
    for heading, rows in data["sections"]:
        sheet.append([heading])
        sheet.merge_cells(f"A{sheet.max_row}:F{sheet.max_row}")
        start = None
        for values in rows:
            sheet.append(values)
            if values[0] is None and start is not None:
                sheet.merge_cells(f"A{start}:A{sheet.max_row}")
            else:
                start = sheet.max_row
    book.save(path)
    return path


def form457_text(org: str = ORG, year: int = YEAR, people: list[dict] | None = None,
                 measures: list[dict] | None = None, progress: bool = True) -> str:
    """Tab-separated rows (the text reader's «rows» layout); a continued shortcoming is empty,
    a cell's several people are separated by «; »."""
    data = form457_rows(org, year, people, measures, progress)
    lines = [*data["title"], "", "\t".join([*form457.COLUMNS[:4], form457.PROGRESS_HEADER]),
             "\t".join(["", "", "", "", *form457.COLUMNS[4:]]), "\t".join(str(n) for n in range(1, 7))]
    for heading, rows in data["sections"]:
        lines.append(heading)
        lines.extend("\t".join((v or "").replace("\n", "; ") for v in values) for values in rows)
    return "\n".join(lines) + "\n"


def form457_pdf(path: Path, office_profile: Path, **kwargs) -> Path:
    """The .docx printed by LibreOffice headless (as a school saves its plan as PDF)."""
    source = form457_docx(path.with_suffix(".docx"), **kwargs)
    done = subprocess.run(["soffice", f"-env:UserInstallation={office_profile.as_uri()}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(path.parent), str(source)],
                          capture_output=True, text=True, timeout=240, check=False)
    made = source.with_suffix(".pdf")
    assert done.returncode == 0 and made.is_file(), (done.stdout, done.stderr)
    if made != path:
        made.rename(path)
    return path
