"""A campaign's roll-up as a file: Word (a table by organisation and one by criterion, A4
landscape), Excel (sheet «Организации» — a row per plan with filters; «По критериям» — a row per
organisation and criterion) or JSON (`Rollup.model_dump_json()`)."""

from __future__ import annotations

import io
from collections.abc import Iterable

from nok_workflow.plan.form457 import CRITERIA, ROMAN
from nok_workflow.problems import InputError, Problem
from nok_workflow.reports.rollup_model import Progress, Rollup
from nok_workflow.text import date_short, percent

FORMATS = ("docx", "xlsx", "json")
HEADS = ["Организация", "Мероприятий", "Выполнено", "из них с нарушением срока", "Просрочено", "В работе",
         "% выполнения", "Последний отчёт"]
CRITERION_HEADS = ["Организация", "Критерий", "Мероприятий", "Выполнено", "из них с нарушением срока",
                   "Просрочено", "В работе"]


def criterion_name(number: int) -> str:
    return f"{ROMAN[number]}. {CRITERIA[number]}" if number in CRITERIA else "Без критерия"


def _numbers(p: Progress) -> list[int]:
    return [p.total, p.done, p.done_late, p.overdue, p.open]


def _last(report: str | None, day) -> str:
    return f"{report} (сформирован {date_short(day)})" if report and day else "—"


def file_name(r: Rollup, fmt: str) -> str:
    return f"svodka-{r.campaign_id}-{r.as_of.isoformat()}.{fmt}"


def render_rollup(r: Rollup, fmt: str) -> bytes:
    if fmt == "json":
        return r.model_dump_json(indent=2).encode("utf-8")
    if fmt == "docx":
        return _docx(r)
    if fmt == "xlsx":
        return _xlsx(r)
    raise InputError([Problem("--format", 0, 0, f"сводка кампании пишется в форматах: {', '.join(FORMATS)}; "
                                                f"«{fmt}» не подходит")])


def _title(r: Rollup) -> list[str]:
    return [f"Сводка о ходе реализации планов по устранению недостатков: {r.title}",
            f"по состоянию на {date_short(r.as_of)}; планов — {len(r.organisations)}, мероприятий — {r.totals.total}, "
            f"выполнено — {r.totals.done} ({percent(r.totals.percent_done)}), просрочено — {r.totals.overdue}"]


# --- Word ------------------------------------------------------------------------------------

def _docx(r: Rollup) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from nok_workflow.reports.docx_file import (
        TABLE_PT,
        _add_table,
        _cell,
        _head_row,
        _para,
        _paragraph,
        _row,
        _run,
        _setup_page,
        _table,
        _text_cell,
    )

    widths = [7.7, 2.2, 2.2, 2.8, 2.4, 2.2, 2.4, 3.8]

    def org_rows() -> Iterable[str]:
        yield _head_row(HEADS, widths)
        for line in r.organisations:
            p = line.progress
            yield _row(_text_cell(widths[0], line.organisation)
                       + "".join(_text_cell(w, str(v), align="right") for w, v in zip(widths[1:6], _numbers(p)))
                       + _text_cell(widths[6], percent(p.percent_done), align="right")
                       + _text_cell(widths[7], _last(line.last_report, line.last_report_on)))
        t = r.totals
        yield _row(_cell(widths[0], _para(_run("Итого", size=TABLE_PT, bold=True)), fill="F1F1F1")
                   + "".join(_text_cell(w, str(v), bold=True, align="right", fill="F1F1F1")
                             for w, v in zip(widths[1:6], _numbers(t)))
                   + _text_cell(widths[6], percent(t.percent_done), bold=True, align="right", fill="F1F1F1")
                   + _text_cell(widths[7], "", fill="F1F1F1"))

    c_widths = [11.7, 2.8, 2.8, 3.2, 2.8, 2.4]

    def criterion_rows() -> Iterable[str]:
        yield _head_row(["Критерий", *CRITERION_HEADS[2:]], c_widths)
        for number, p in r.by_criterion.items():
            yield _row(_text_cell(c_widths[0], criterion_name(number))
                       + "".join(_text_cell(w, str(v), align="right") for w, v in zip(c_widths[1:], _numbers(p))))

    doc = Document()
    _setup_page(doc, title=_title(r)[0], subject=r.title, keywords=r.campaign_id, comments=_title(r)[1],
                moment=r.generated_at)
    head, sub = _title(r)
    _paragraph(doc, head, bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
    _paragraph(doc, sub, align=WD_ALIGN_PARAGRAPH.CENTER, after=10)
    _paragraph(doc, "По организациям", bold=True, keep_next=True)
    _add_table(doc, _table(widths, org_rows()))
    _paragraph(doc, "", after=6)
    _paragraph(doc, "По критериям независимой оценки", bold=True, keep_next=True)
    _add_table(doc, _table(c_widths, criterion_rows()))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- Excel -----------------------------------------------------------------------------------

def _xlsx(r: Rollup) -> bytes:
    from openpyxl import Workbook

    from nok_workflow.reports.xlsx_file import (
        BOLD,
        DATE,
        PERCENT,
        WRAP,
        _header,
        _print_setup,
        _widths,
        workbook_bytes,
    )

    wb = Workbook()
    ws = wb.active
    ws.title = "Организации"
    widths = [50, 13, 12, 16, 12, 11, 13, 22, 16]
    _widths(ws, widths)
    for n, text in enumerate(_title(r), 1):
        ws.cell(row=n, column=1, value=text).font = BOLD if n == 1 else None
    heads = [*HEADS[:-1], "Последний отчёт", "Сформирован"]
    _header(ws, 4, heads, widths)
    row = 4
    for line in r.organisations:
        row += 1
        p = line.progress
        values = [line.organisation, *_numbers(p), p.percent_done, line.last_report, line.last_report_on]
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.alignment = WRAP
        ws.cell(row=row, column=7).number_format = PERCENT
        ws.cell(row=row, column=9).number_format = DATE
    ws.auto_filter.ref = f"A4:I{row}"
    row += 1
    for col, value in enumerate(["Итого", *_numbers(r.totals), r.totals.percent_done], 1):
        ws.cell(row=row, column=col, value=value).font = BOLD
    ws.cell(row=row, column=7).number_format = PERCENT
    ws.freeze_panes = "B5"
    _print_setup(ws, 4)

    sheet = wb.create_sheet("По критериям")
    c_widths = [50, 60, 13, 12, 16, 12, 11]
    _widths(sheet, c_widths)
    _header(sheet, 1, CRITERION_HEADS, c_widths)
    row = 1
    for line in r.organisations:
        for number, p in line.by_criterion.items():
            row += 1
            for col, value in enumerate([line.organisation, criterion_name(number), *_numbers(p)], 1):
                sheet.cell(row=row, column=col, value=value)
    sheet.auto_filter.ref = f"A1:G{row}"
    sheet.freeze_panes = "A2"
    _print_setup(sheet, 1)
    return workbook_bytes(wb, title=_title(r)[0], subject=r.title, moment=r.generated_at)
