"""The Excel report read back as its readers get it: openpyxl for the cells (real numbers and
dates, the statuses of the simulated autumn, totals that add up, filters, frozen headers,
links), LibreOffice for the printout (it must open the file; every item's status is printed;
the header row repeats on every page). Pages go to tests/artifacts/reports/xlsx-*.png."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from nok_workflow.reports.model import OUTCOME_WORDS, Report
from nok_workflow.reports.xlsx_file import (
    COUNT_HEADS,
    DATE,
    ITEM_HEADS,
    PERCENT,
    TINTS,
    render,
)
from tests.support.reports import BASE, EXPECTED_Q4, office_pdfs, seed_reports

KINDS = list(OUTCOME_WORDS)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Report]:
    return seed_reports(tmp_path_factory.mktemp("xlsx"))


@pytest.fixture(scope="module")
def books(reports) -> dict[str, bytes]:
    return {name: render(report) for name, report in reports.items()}


def workbook(body: bytes):
    return load_workbook(io.BytesIO(body))


def table(ws: Worksheet, header_row: int = 1) -> tuple[dict[str, int], list[tuple]]:
    """The column of each heading, and the cells of the rows under it."""
    heads = {c.value: n for n, c in enumerate(ws[header_row]) if c.value}
    return heads, list(ws.iter_rows(min_row=header_row + 1))


def counts_of(c) -> list[int]:
    return [c.total, *(getattr(c, k) for k in KINDS)]


def block(ws: Worksheet, first_head: str) -> list[tuple]:
    """The rows of the «Сводка» table whose header starts with `first_head`, up to the blank row."""
    start = next(r[0].row for r in ws.iter_rows() if r[0].value == first_head)
    rows = []
    for r in ws.iter_rows(min_row=start + 1):
        if r[0].value is None:
            break
        rows.append(r)
    return rows


# === cells ====================================================================================

def test_items_sheet_has_the_statuses_dates_and_numbers_of_the_autumn(reports, books):
    report, wb = reports["orenburg"], workbook(books["orenburg"])
    assert wb.sheetnames == ["Сводка", "Мероприятия"]  # no organisations in a district's own plan
    assert wb.active.title == "Сводка"
    ws = wb["Мероприятия"]
    col, rows = table(ws)
    assert list(col) == ITEM_HEADS
    by_number = {r[col["№"]].value: r for r in rows}
    assert set(by_number) == set(EXPECTED_Q4)  # one row per item: none of them lists obligations
    for number, kind in EXPECTED_Q4.items():
        status = by_number[number][col["Статус"]]
        assert status.value == OUTCOME_WORDS[kind], number
        assert status.fill.fgColor.rgb.endswith(TINTS[kind]), number
    late = by_number["II.4"]
    assert late[col["Просрочка, дн."]].value == 9 and late[col["Раздел"]].value == "II."
    done = late[col["Дата выполнения"]]
    assert done.is_date and done.number_format == DATE and done.value == dt.datetime(2025, 1, 9)
    due = late[col["Сроки в периоде"]]
    assert due.is_date and due.number_format == DATE and due.value == dt.datetime(2024, 12, 31)
    assert by_number["II.2"][col["Просрочка, дн."]].value == 10  # not done: days to the report's day
    assert by_number["II.2"][col["Дата выполнения"]].value is None

    first = report.sections[0].items[0].evidence[0]
    docs = by_number["I.2"][col["Документы"]]
    assert docs.value == f"{first.name} [{first.sha256}]" and len(first.sha256) == 12
    assert docs.hyperlink is not None and docs.hyperlink.target == first.url and first.url.startswith(BASE)
    linked = {r[col["№"]].value for r in rows if r[col["Документы"]].hyperlink}
    assert linked == {"I.2", "II.1", "II.4"}  # every item with a document, and only those

    # the count columns are numbers and add up to the report's totals
    sums = []
    for head in COUNT_HEADS:
        values = [r[col[head]].value for r in rows]
        assert all(isinstance(v, int) for v in values), head
        sums.append(sum(values))
    assert sums == counts_of(report.totals) == [9, 2, 1, 5, 0, 1]

    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:Q{len(rows) + 1}"
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert all(ws.cell(row=1, column=n).font.b and ws.cell(row=1, column=n).alignment.wrap_text
               for n in range(1, len(ITEM_HEADS) + 1))
    assert ws.cell(row=2, column=col["Мероприятие"] + 1).alignment.wrap_text
    assert ws.column_dimensions["C"].width >= 40 and ws.column_dimensions["I"].width >= 11  # dates not «####»
    assert ws.row_dimensions[1].height >= 40  # the three-line headings are not cut off


def test_summary_totals_sections_and_owners(reports, books):
    report, wb = reports["orenburg"], workbook(books["orenburg"])
    ws = wb["Сводка"]
    text = [c.value for c in ws["A"][:8] if c.value]
    assert text[0] == "Отчёт о выполнении плана мероприятий" and text[1] == f"«{report.plan_title}»"
    assert "за IV квартал 2024 года" in text and "по состоянию на 10.01.2025" in text
    assert any(t.startswith("Утверждён: Общественный совет") for t in text)

    t = report.totals
    totals = {r[0].value: r for r in block(ws, "Итог обязательства")}
    for kind, word in OUTCOME_WORDS.items():
        count, share = totals[word][1], totals[word][2]
        assert count.value == getattr(t, kind) and isinstance(count.value, int), word
        if kind == "cancelled":
            assert share.value is None  # shares are of the obligations not cancelled
        else:
            assert share.value == t.percent(kind) and share.number_format == PERCENT, word
    assert totals["не выполнено"][2].value == 62.5  # 5 of 8: the cancelled one left out
    assert totals["Всего обязательств со сроком в периоде"][1].value == t.total == 9
    done = totals["Выполнено всего (в срок и с нарушением срока)"]
    assert (done[1].value, done[2].value, done[2].number_format) == (3, 37.5, PERCENT)

    sections = block(ws, "Раздел")
    assert [r[0].value for r in sections] == [f"{s.number} {s.title}" for s in report.sections]
    assert [[c.value for c in r[1:7]] for r in sections] == [counts_of(s.counts) for s in report.sections]
    assert [r[7].value for r in sections] == [s.counts.percent("done") for s in report.sections]
    assert all(r[7].number_format == PERCENT for r in sections)
    owners = block(ws, "Ответственный")
    assert [[c.value for c in r[:7]] for r in owners] == [[o.name, *counts_of(o.counts)] for o in report.owners]
    assert [r[7].value for r in owners] == [o.counts.percent("done") for o in report.owners]
    heads = [c.value for c in ws[owners[0][0].row - 1]]
    assert heads == ["Ответственный", *COUNT_HEADS, "% выполнения"]

    chart = ws._charts[0]  # the stacked bars of the section table, drawn by the office suite itself
    assert len(ws._charts) == 1 and chart.grouping == "percentStacked" and len(chart.series) == len(KINDS)
    assert ws.page_setup.orientation == "landscape"


def test_obligation_lines_and_every_organisation(reports, books):
    report, wb = reports["yuzhno"], workbook(books["yuzhno"])
    assert wb.sheetnames == ["Сводка", "Мероприятия", "Организации"]
    ws = wb["Мероприятия"]
    col, rows = table(ws)
    lines = [r for r in rows if r[col["№"]].value == "4.5"]
    item, obligations = lines[0], lines[1:]
    listed = next(i for s in report.sections for i in s.items if i.number == "4.5")
    assert len(obligations) == len(listed.obligations) == 4  # the item's number repeated: a filter keeps them
    assert item[col["Статус"]].value == listed.status and item[col["Всего"]].value == 4
    assert [r[col["Организация"]].value for r in obligations] == [o.organisation for o in listed.obligations]
    assert [r[col["Статус"]].value for r in obligations] == [o.status for o in listed.obligations]
    assert all(r[col[h]].value is None for r in obligations for h in COUNT_HEADS)  # counted once, on the item
    assert all(r[col["Сроки в периоде"]].is_date for r in obligations)
    late = next(r for r in obligations if r[col["Организация"]].value == "МАОУ «Гимназия № 3»")
    assert late[col["Просрочка, дн."]].value == 7 and late[col["Дата выполнения"]].value == dt.datetime(2015, 1, 12)
    links = [r[col["Документы"]].hyperlink.target for r in obligations if r[col["Документы"]].hyperlink]
    assert links == [e.url for o in listed.obligations for e in o.evidence] and len(links) == 2
    sums = [sum(r[col[h]].value or 0 for r in rows) for h in COUNT_HEADS]
    assert sums == counts_of(report.totals)

    orgs = wb["Организации"]
    heads, org_rows = table(orgs)
    assert list(heads) == ["Организация", "Код", *COUNT_HEADS, "% выполнения"]
    got = [[c.value for c in r] for r in org_rows]
    assert sorted(got) == sorted([o.name, o.id, *counts_of(o.counts), o.counts.percent("done")]
                                 for o in report.organisations)
    assert [r[0] for r in got] == ["МАОУ «Гимназия № 3»", "МАОУ «СОШ № 1»", "МБДОУ «Детский сад № 12»"]
    assert all(r[-1].number_format == PERCENT for r in org_rows)
    assert orgs.freeze_panes == "B2" and orgs.auto_filter.ref == f"A1:I{len(org_rows) + 1}"
    assert orgs.print_title_rows == "$1:$1"


def test_many_organisations_are_sorted_as_read_and_all_listed(reports):
    """A region's thousands: every one, «№ 9» before «№ 10»."""
    report = reports["yuzhno"]
    data = report.model_dump()
    data["organisations"] = [{"id": f"s{n}", "name": f"МБОУ «Школа № {n}»", "counts": {"total": 2, "on_time": n % 3}}
                             for n in range(1500, 0, -1)]
    wb = workbook(render(Report.model_validate(data)))
    names = [c.value for c in wb["Организации"]["A"][1:]]
    assert names == [f"МБОУ «Школа № {n}»" for n in range(1, 1501)]
    assert wb["Организации"].auto_filter.ref == "A1:I1501"


def test_workbook_properties_and_the_same_report_gives_the_same_file(reports, books):
    report = reports["orenburg"]
    props = workbook(books["orenburg"]).properties
    assert props.creator == "nok-workflow" and "IV квартал 2024 года" in props.title
    assert props.created == report.generated_at.astimezone(dt.UTC).replace(tzinfo=None)
    assert render(report) == books["orenburg"]  # no clock in it: the zip's dates are the report's too
    with zipfile.ZipFile(io.BytesIO(books["orenburg"])) as z:
        assert z.testzip() is None and "xl/charts/chart1.xml" in z.namelist()


# === LibreOffice ==============================================================================

@pytest.mark.slow
def test_libreoffice_opens_and_prints_the_workbooks(reports, books, tmp_path, office_profile):
    data = reports["orenburg"].model_dump()  # the sections ten times over: the items sheet runs over pages
    data["sections"] = [dict(s, number=f"{n + 1}.{s['number']}") for n in range(10) for s in data["sections"]]
    files = {**books, "long": render(Report.model_validate(data))}
    pdfs = office_pdfs(files, "xlsx", tmp_path, package="libreoffice-calc-nogui", dpi=70, profile=office_profile)
    pages = {name: printed_pages(pdf) for name, pdf in pdfs.items()}
    for name, texts in pages.items():
        whole = " ".join(texts)
        assert "###" not in whole, name  # no number or date too wide for its column
        assert all(landscape(pdf_size(pdfs[name], n)) for n in (1, len(texts))), name
    orenburg = " ".join(pages["orenburg"])
    assert "Отчёт о выполнении плана мероприятий" in orenburg and "по состоянию на 10.01.2025" in orenburg
    item_pages = [p for p in pages["orenburg"] if "Мероприятия — страница" in p]
    assert item_pages, pages["orenburg"]
    printed = " ".join(item_pages)
    starts = sorted((printed.index(f" {number} "), number) for number in EXPECTED_Q4)
    for (start, number), (end, _) in zip(starts, [*starts[1:], (len(printed), "")]):
        assert OUTCOME_WORDS[EXPECTED_Q4[number]] in printed[start:end], (number, printed[start:end])
    assert "09.01.2025" in printed and "Протокол №2.pdf" in printed  # dates and documents not cut to «###»
    assert "МБДОУ «Детский сад № 12»" in " ".join(p for p in pages["yuzhno"] if "Организации — страница" in p)

    long_items = [p for p in pages["long"] if "Мероприятия — страница" in p]
    assert len(long_items) >= 3
    assert all("Мероприятие" in p and "Просрочка" in p for p in long_items)  # the header row on every page


def printed_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def pdf_size(pdf: Path, page: int) -> str:
    info = subprocess.run(["pdfinfo", "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return next(line.split(":", 1)[1] for line in info.splitlines() if line.startswith(f"Page{page:>5} size"))


def landscape(size: str) -> bool:
    width, _, height = size.split()[:3]
    return float(width) > float(height)
