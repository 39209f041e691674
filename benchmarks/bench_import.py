"""Benchmark: a plan document read to structured rows — as .docx and as PDF.

Part of `python -m benchmarks` (the `import` benchmark).

A synthetic plan of N rows (10 sections; titles of 8–25 words, a deadline, two owners as two
paragraphs, a result) is written with python-docx as plans are — ruled, landscape — and
LibreOffice prints it to PDF. Measured, each the best of a few runs:

  (a) .docx → sections and items (`build.read_document` + `table.structure`); baseline: bare
      python-docx opening the file and reading every cell's text;
  (b) PDF → sections and items, in the limits' child processes (a long PDF by halves, two at
      once); baseline: bare pdfplumber finding the tables and extracting the words of every page
      in this process (what the reader starts from); and the CPU time the children took — on a
      machine shared with other work the wall time says more about the load than the code.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

from benchmarks.figures import Section, best_of, seconds

TARGET_S = 2.0
WORDS = ("проведение мониторинга качества образовательной деятельности организаций сбор анализ информации "
         "размещение результатов независимой оценки на официальном сайте в сети Интернет подготовка "
         "предложений по улучшению работы общественного совета при отделе образования").split()
OWNERS = ("Отдел образования администрации района", "Общественный совет по НОКО",
          "Организация-оператор ООО «Центр оценки»", "Руководители общеобразовательных организаций")


def build_plan(rows: int, path: Path) -> Path:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    rng = random.Random(15)
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.add_paragraph("План мероприятий по независимой оценке качества условий образовательной "
                           "деятельности на 2025 год")
    table = document.add_table(rows=0, cols=5)
    table.style = "Table Grid"
    table.autofit = False
    for index, width in enumerate((1.5, 7.0, 3.5, 5.5, 5.0)):
        table.columns[index].width = Cm(width)

    def add(values: list[str]) -> None:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            parts = value.split("\n\n")
            cell.text = parts[0]
            for extra in parts[1:]:
                cell.add_paragraph(extra)

    add(["№ п/п", "Наименование мероприятия", "Срок исполнения", "Ответственные исполнители",
         "Ожидаемый результат"])
    per_section = max(1, rows // 10)
    for s in range(1, 11):
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[-1])
        merged.text = f"{s}. Раздел плана номер {s}"
        for i in range(1, per_section + 1):
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25))).capitalize()
            owners = "\n\n".join(rng.sample(OWNERS, 2))
            add([f"{s}.{i}.", title, rng.choice(["до 1 марта 2025 г.", "ежеквартально", "в течение года",
                                                   "до 15 декабря 2025 г."]), owners,
                 " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10))).capitalize()])
    document.save(path)
    return path


def to_pdf(document: Path, work: Path) -> Path:
    soffice = shutil.which("soffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is needed: apt-get install libreoffice-writer-nogui")
    subprocess.run([soffice, f"-env:UserInstallation={(work / 'lo-profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(work), str(document)], check=True,
                   capture_output=True, timeout=300)
    return work / f"{document.stem}.pdf"


def _structured(path: Path) -> int:
    from nok_workflow.importer.build import read_document
    from nok_workflow.importer.table import structure

    return sum(len(s.items) for s in structure(read_document(path)).sections)


def _bare_docx(path: Path) -> int:
    import docx

    return sum(len(cell.text) for table in docx.Document(str(path)).tables for row in table.rows
               for cell in row.cells)


def _bare_pdf(path: Path) -> int:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return sum(len(page.find_tables()) + len(page.extract_words()) for page in pdf.pages)


def sections(rows: int, repeats: int, work: Path) -> list[Section]:
    document = build_plan(rows, work / "plan.docx")
    pdf = to_pdf(document, work)
    import pdfplumber

    with pdfplumber.open(pdf) as opened:
        pages = len(opened.pages)
    section = Section(f"Import: a {rows}-row plan, .docx and PDF, to structured rows",
                      f"A synthetic plan of {rows} rows in 10 sections (ruled, landscape; {pages} pages as PDF, "
                      f"printed by LibreOffice); best of {repeats}. Baselines: bare python-docx reading every "
                      "cell; bare pdfplumber finding tables and words on every page.")
    for label, path, bare in ((".docx → sections and items", document, _bare_docx),
                              ("PDF → sections and items (limited children: halves at once)", pdf, _bare_pdf)):
        took, items = best_of(repeats, lambda p=path: _structured(p))
        baseline, _ = best_of(repeats, lambda p=path, b=bare: b(p))
        assert items == 10 * max(1, rows // 10), items
        section.add(label, seconds(took), seconds(baseline), f"≤ {TARGET_S:g} s", took <= TARGET_S)
    before = _children_cpu()
    _structured(pdf)
    section.add("PDF: CPU time of the children (all of them)", seconds(_children_cpu() - before))
    section.how += f" Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    return [section]


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
