"""The shortcomings plan's progress report as an Excel sheet in the form № 457: the title lines,
the form's header with its merged cells (four columns two rows high, «Сведения о ходе
реализации мероприятия» over the last two), the numbering row 1–6, a merged row per criterion,
a row per measure. Wrapped text, row heights estimated (no office suite grows them on opening),
the header repeated on every printed page, A4 landscape one page wide.

Every document is named in the cell of the measures done; their addresses are in the cell's
note (a hyperlinked cell is one unbreakable field in LibreOffice: its text would not wrap)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from nok_workflow.plan.form457 import COLUMNS, PROGRESS_HEADER
from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.xlsx_file import (
    BOLD,
    FONT,
    HEAD_ALIGN,
    HEAD_FILL,
    WRAP,
    _height,
    _lines,
    _print_setup,
    _widths,
    workbook_bytes,
)
from nok_workflow.text import date_short

WIDTHS = [32, 36, 16, 26, 42, 20]
SIDE = Side(style="thin", color="000000")
GRID = Border(left=SIDE, right=SIDE, top=SIDE, bottom=SIDE)
SECTION_FILL = PatternFill("solid", fgColor="F1F1F1")
OVERDUE_FILL = PatternFill("solid", fgColor="FFCDD2")
HEAD_ROW = 5  # the header's first row; the numbering row is HEAD_ROW + 2


def _titles(ws, r: FormReport) -> None:
    lines = [(r.plan_title, Font(name=FONT, bold=True, size=13)),
             (f"Сведения о ходе реализации за {r.period.label}", None),
             (f"по состоянию на {date_short(r.as_of)}", None)]
    for n, (text, font) in enumerate(lines, 1):
        cell = ws.cell(row=n, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        if font is not None:
            cell.font = font
        ws.merge_cells(start_row=n, start_column=1, end_row=n, end_column=6)
        ws.row_dimensions[n].height = _height(_lines(text, sum(WIDTHS) * 0.9, bold=font is not None))


def _head(ws) -> None:
    top, below, numbers = HEAD_ROW, HEAD_ROW + 1, HEAD_ROW + 2
    for col, text in enumerate(COLUMNS, 1):
        ws.cell(row=top if col <= 4 else below, column=col, value=text)
    ws.cell(row=top, column=5, value=PROGRESS_HEADER)
    for col in range(1, 5):
        ws.merge_cells(start_row=top, start_column=col, end_row=below, end_column=col)
    ws.merge_cells(start_row=top, start_column=5, end_row=top, end_column=6)
    for col in range(1, 7):
        ws.cell(row=numbers, column=col, value=col)
        for row in (top, below, numbers):
            cell = ws.cell(row=row, column=col)
            cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEAD_FILL, HEAD_ALIGN, GRID
    tall = max(_lines(text, w, bold=True) for text, w in zip(COLUMNS[:4], WIDTHS))
    low = max(_lines(text, w, bold=True) for text, w in zip(COLUMNS[4:], WIDTHS[4:]))
    ws.row_dimensions[top].height = _height(max(2, tall - low))
    ws.row_dimensions[below].height = _height(low)


def render(report: FormReport) -> bytes:
    r = report
    wb = Workbook()
    ws = wb.active
    ws.title = "Форма № 457"
    _widths(ws, WIDTHS)
    _titles(ws, r)
    _head(ws)
    row = HEAD_ROW + 2
    for s in r.sections:
        row += 1
        cell = ws.cell(row=row, column=1, value=s.title)
        cell.font, cell.fill, cell.alignment = BOLD, SECTION_FILL, Alignment(horizontal="center", wrap_text=True)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        for col in range(1, 7):
            ws.cell(row=row, column=col).border = GRID
        ws.row_dimensions[row].height = _height(_lines(s.title, sum(WIDTHS), bold=True))
        for line in s.rows:
            row += 1
            values = [line.shortcoming, line.measure, line.deadline, "\n".join(line.responsible),
                      line.measures_text, line.done_text]
            for col, value in enumerate(values, 1):
                cell = ws.cell(row=row, column=col, value=value or None)
                cell.alignment, cell.border = WRAP, GRID
            linked = [f"{m.document}: {m.url}" for m in line.done if m.url]
            if linked:
                ws.cell(row=row, column=5).comment = Comment("Документы:\n" + "\n".join(linked), "nok-workflow",
                                                             width=420, height=40 + 30 * len(linked))
            if line.overdue_since is not None:
                ws.cell(row=row, column=6).fill = OVERDUE_FILL
            ws.row_dimensions[row].height = _height(max(_lines(str(v), w) for v, w in zip(values, WIDTHS)))
    ws.freeze_panes = ws.cell(row=HEAD_ROW + 3, column=1)
    _print_setup(ws, None)
    ws.print_title_rows = f"{HEAD_ROW}:{HEAD_ROW + 2}"
    return workbook_bytes(wb, title=f"Отчёт о ходе реализации плана за {r.period.label}", subject=r.plan_title,
                          moment=r.generated_at)
