"""The report as an Excel workbook (openpyxl): «Сводка» (totals, sections, owners, a chart),
«Мероприятия» (a row per item and per listed obligation, the item's number repeated so filters
work), «Организации» (every one of them). Real dates and numbers, frozen headers, filters,
printing on A4 landscape to the page's width with the header row on every page.

Row heights are estimated here: neither Excel nor LibreOffice grows a row to fit wrapped text
of a file they open, so a row left at the default height would cut its text off."""

from __future__ import annotations

import datetime as dt
import io
import re
from copy import copy
from pathlib import Path
from typing import ClassVar
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RichTextProperties,
)
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from nok_workflow.reports.chart import COLOURS
from nok_workflow.reports.model import (
    OUTCOME_WORDS,
    Counts,
    EvidenceRef,
    PartyLine,
    Report,
)
from nok_workflow.text import date_short

DATE = "DD.MM.YYYY"
# Percentages are stored as the per cent itself (37.5, as Counts.percent gives it), shown «37.5 %».
PERCENT = '0.0" %"'
INTEGER = "0"
COUNT_HEADS = ["Всего", "В срок", "С нарушением срока", "Не выполнено", "В работе", "Отменено"]
ITEM_HEADS = ["Раздел", "№", "Мероприятие", "Срок (по плану)", "Сроки в периоде", "Ответственные", "Организация",
              "Статус", "Дата выполнения", "Документы", "Просрочка, дн.", *COUNT_HEADS]
ITEM_WIDTHS = [7, 6, 40, 14, 12, 20, 22, 17, 12, 30, 11, 7, 8, 12, 11, 9, 10]
STATUS_COL, DOCS_COL = ITEM_HEADS.index("Статус") + 1, ITEM_HEADS.index("Документы") + 1
SUMMARY_WIDTHS = [60, 14, 12, 12, 12, 12, 12, 13]  # name, then the count columns, then «% выполнения»
ORG_HEADS = ["Организация", "Код", *COUNT_HEADS, "% выполнения"]
ORG_WIDTHS = [60, 16, 7, 8, 12, 11, 9, 10, 13]

# The font named on every styled cell: a Font() without a name falls back to a serif in LibreOffice.
FONT = "Calibri"
BOLD = Font(name=FONT, bold=True)
LINK = Font(name=FONT, color="0563C1", underline="single")
HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
# LibreOffice shows a linked cell's text as one unbreakable field: shrunk, not cut off.
SHRINK = Alignment(shrink_to_fit=True, vertical="top")
THIN = Side(style="thin", color="A0A0A0")
HEAD_BORDER = Border(bottom=THIN)
# Light tints of the chart's colours: black text stays readable on screen and in print.
TINTS = {"on_time": "C8E6C9", "late": "FFE082", "not_done": "FFCDD2", "in_progress": "BBDEFB", "cancelled": "E0E0E0"}
FILLS = {kind: PatternFill("solid", fgColor=TINTS[kind]) for kind in COLOURS}
# Points per line of 11 pt text, and the cell's padding. Tried on LibreOffice with DejaVu Sans in
# Calibri's place (wider than Calibri or Carlito): where it fits there, it fits in Excel.
LINE_PT, PAD_PT = 14.5, 3.0


class _Styles:
    """Cell styles by name, each given once per workbook and copied after: openpyxl hashes every
    style object it is handed, which over the tens of thousands of cells of a region costs seconds."""

    SPECS: ClassVar[dict[str, dict]] = {
        "wrap": {"alignment": WRAP},
        "top": {"alignment": TOP},
        "date": {"alignment": TOP, "number_format": DATE},
        "percent": {"number_format": PERCENT},
        "percent_top": {"alignment": TOP, "number_format": PERCENT},
        "link": {"font": LINK, "alignment": SHRINK},
        **{f"status_{kind}": {"alignment": WRAP, "fill": fill} for kind, fill in FILLS.items()},
    }

    def __init__(self) -> None:
        self.made: dict[str, object] = {}

    def __call__(self, cell, name: str) -> None:
        made = self.made.get(name)
        if made is not None:
            cell._style = copy(made)  # openpyxl's own way to copy a style (an array of indexes)
            return
        for attr, value in self.SPECS[name].items():
            setattr(cell, attr, value)
        self.made[name] = copy(cell._style)


def _counts(c: Counts) -> list[int]:
    return [c.total, *(getattr(c, k) for k in OUTCOME_WORDS)]


def _lines(text: str, width: float, *, bold: bool = False) -> int:
    """Lines a wrapped cell of `width` (Excel's character units) needs: words go to the next
    line whole, as both office suites wrap; a word longer than the line is broken."""
    room = max(1, int((width - 1) * (0.9 if bold else 1.0)))
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used = 1, 0
        for word in paragraph.split():
            size = len(word)
            if used and used + 1 + size <= room:
                used += 1 + size
                continue
            if used:
                lines += 1
            lines += (size - 1) // room
            used = size - room * ((size - 1) // room)
        total += lines
    return total


def _height(lines: int) -> float:
    return round(LINE_PT * lines + PAD_PT, 1)


def _header(ws: Worksheet, row: int, heads: list[str], widths: list[int]) -> None:
    for col, text in enumerate(heads, 1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEAD_FILL, HEAD_ALIGN, HEAD_BORDER
    ws.row_dimensions[row].height = _height(max(_lines(h, w, bold=True) for h, w in zip(heads, widths)))


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _print_setup(ws: Worksheet, title_row: int | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # one page wide, as many long as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "&A — страница &P из &N"
    if title_row is not None:
        ws.print_title_rows = f"{title_row}:{title_row}"


def _documents(evidence: list[EvidenceRef]) -> str:
    return "\n".join(f"{e.name} [{e.sha256}]" if e.sha256 else e.name for e in evidence)


def _dates(days: list[dt.date]) -> dt.date | str | None:
    """One date stays a date (sorts and filters as one); several are listed as text."""
    if len(days) == 1:
        return days[0]
    return ", ".join(date_short(d) for d in days) or None


# === «Сводка» =================================================================================

def _summary(ws: Worksheet, r: Report, st: _Styles) -> None:
    ws.title = "Сводка"
    _widths(ws, SUMMARY_WIDTHS)
    span, page = len(SUMMARY_WIDTHS), sum(SUMMARY_WIDTHS)
    lines = [("Отчёт о выполнении плана мероприятий", Font(name=FONT, bold=True, size=14)), (f"«{r.plan_title}»", BOLD),
             (f"за {r.period.label}", None), (f"по состоянию на {date_short(r.as_of)}", None)]
    if r.approved_by or r.approval_act:
        lines.append(("Утверждён: " + "; ".join(x for x in (r.approved_by, r.approval_act) if x), None))
    lines.append((f"Координатор: {r.coordinator}", None))
    for n, (text, font) in enumerate(lines, 1):
        cell = ws.cell(row=n, column=1, value=text)
        cell.alignment = WRAP
        if font is not None:
            cell.font = font
        ws.merge_cells(start_row=n, start_column=1, end_row=n, end_column=span)
        ws.row_dimensions[n].height = _height(_lines(text, page, bold=font is not None)) + (6 if n == 1 else 0)

    row = len(lines) + 2
    heads = ["Итог обязательства", "Обязательств", "Доля, %"]
    _header(ws, row, heads, SUMMARY_WIDTHS)
    t = r.totals
    for kind, word in OUTCOME_WORDS.items():
        row += 1
        ws.cell(row=row, column=1, value=word).fill = FILLS[kind]
        ws.cell(row=row, column=2, value=getattr(t, kind)).number_format = INTEGER
        if kind != "cancelled":  # shares are of the obligations not cancelled
            ws.cell(row=row, column=3, value=t.percent(kind)).number_format = PERCENT
    row += 1
    for col, value in enumerate(["Всего обязательств со сроком в периоде", t.total], 1):
        ws.cell(row=row, column=col, value=value).font = BOLD
    row += 1
    for col, value in enumerate(["Выполнено всего (в срок и с нарушением срока)", t.done, t.percent("done")], 1):
        ws.cell(row=row, column=col, value=value).font = BOLD
    ws.cell(row=row, column=3).number_format = PERCENT
    row += 1
    note = ws.cell(row=row, column=1, value="Доли — от обязательств без отменённых.")
    note.font = Font(name=FONT, italic=True, size=9)

    row += 2
    ws.cell(row=row, column=1, value="Исполнение по разделам плана").font = BOLD
    sections = [PartyLine(id=s.number, name=f"{s.number} {s.title}".strip(), counts=s.counts) for s in r.sections]
    first = row + 2
    row = _parties(ws, row + 1, "Раздел", sections, SUMMARY_WIDTHS, st)
    last = row - 1
    row += 1
    ws.cell(row=row, column=1, value="Исполнение по ответственным").font = BOLD
    row = _parties(ws, row + 1, "Ответственный", r.owners, SUMMARY_WIDTHS, st)
    if sections:
        ws.row_breaks.append(Break(id=row))  # the chart starts a page rather than being cut by one
        _chart(ws, first, last, row + 2)
    _print_setup(ws, None)


def _chart(ws: Worksheet, first: int, last: int, at: int) -> None:
    """The sections as stacked bars of shares, from the section table's own cells."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap, chart.gapWidth = "bar", "percentStacked", 100, 60
    chart.title = "Итоги обязательств по разделам, %"
    data = Reference(ws, min_col=3, max_col=2 + len(OUTCOME_WORDS), min_row=first - 1, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    for series, kind in zip(chart.series, OUTCOME_WORDS):
        series.graphicalProperties.solidFill = COLOURS[kind].lstrip("#")
        series.graphicalProperties.line.solidFill = "FFFFFF"
    chart.y_axis.scaling.orientation = "minMax"
    chart.x_axis.scaling.orientation = "maxMin"  # the first section on top, as in the table
    chart.y_axis.number_format, chart.y_axis.majorGridlines = "0%", None
    chart.y_axis.txPr = _text_props(900)
    chart.x_axis.txPr = _text_props(900)
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.layout = Layout(manualLayout=ManualLayout(x=0.0, y=0.0, w=1.0, h=1.0))
    chart.width = 27  # cm: about the width of the tables above
    # cm: room for two-line labels; up to about 15 sections fit a printed page, more run over
    # rather than squeeze their labels on top of each other
    chart.height = 3.5 + 0.9 * (last - first + 1)
    ws.add_chart(chart, f"A{at}")


def _text_props(size: int) -> RichText:
    """Axis labels upright (LibreOffice turns crowded ones by 45°) in `size` hundredths of a point."""
    props = CharacterProperties(sz=size)
    return RichText(bodyPr=RichTextProperties(rot=0, vert="horz"),
                    p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _parties(ws: Worksheet, row: int, name_head: str, rows: list[PartyLine], widths: list[int], st: _Styles,
             *, with_id: bool = False) -> int:
    """A table of counts per party (section, owner, organisation) from `row`; the next free row."""
    heads = [name_head, *(["Код"] if with_id else []), *COUNT_HEADS, "% выполнения"]
    _header(ws, row, heads, widths)
    name_width, last_col = widths[0], len(heads)
    for p in rows:
        row += 1
        ws.append([p.name, *([p.id] if with_id else []), *_counts(p.counts), p.counts.percent("done")])
        st(ws.cell(row=row, column=1), "wrap")
        lines = _lines(p.name, name_width)
        if lines == 1:
            st(ws.cell(row=row, column=last_col), "percent")
        else:  # a long name: its numbers go to the top beside it
            ws.row_dimensions[row].height = _height(lines)
            for col in range(2, last_col):
                st(ws.cell(row=row, column=col), "top")
            st(ws.cell(row=row, column=last_col), "percent_top")
    return row + 1


# === «Мероприятия» ============================================================================

def _items(ws: Worksheet, r: Report, st: _Styles) -> None:
    _widths(ws, ITEM_WIDTHS)
    _header(ws, 1, ITEM_HEADS, ITEM_WIDTHS)
    row = 1
    for s in r.sections:
        for i in s.items:
            row += 1
            owners = ", ".join(i.owners)
            _row(ws, row, [s.number, i.number, i.title, i.deadline, _dates(i.due_dates), owners, None, i.status,
                           i.completed_on, _documents(i.evidence), i.days_late, *_counts(i.counts)],
                 i.outcome, i.evidence, st)
            for o in i.obligations:  # their counts are the item's: left empty, so the columns sum to the totals
                row += 1
                _row(ws, row, [s.number, i.number, i.title, o.period, o.due, owners, o.organisation, o.status,
                               o.completed_on, _documents(o.evidence), o.days_late],
                     o.outcome, o.evidence, st)
    ws.freeze_panes = "C2"  # the header and the item's section and number stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(ITEM_HEADS))}{max(row, 2)}"
    _print_setup(ws, 1)


def _row(ws: Worksheet, row: int, values: list, kind: str | None, evidence: list[EvidenceRef],
         st: _Styles) -> None:
    links = [e.url for e in evidence if e.url]
    lines = 1
    for col, value in enumerate(values, 1):
        if value is None:
            continue
        cell = ws.cell(row=row, column=col, value=value)
        if col == DOCS_COL and len(links) == 1:
            cell.hyperlink = links[0]
            st(cell, "link")
        elif col == STATUS_COL and kind is not None:
            st(cell, f"status_{kind}")
            lines = max(lines, _lines(value, ITEM_WIDTHS[col - 1]))
        elif isinstance(value, str):
            st(cell, "wrap")
            lines = max(lines, _lines(value, ITEM_WIDTHS[col - 1]))
        else:
            st(cell, "date" if isinstance(value, dt.date) else "top")
    ws.row_dimensions[row].height = _height(lines)


# === «Организации» ============================================================================

_DIGITS = re.compile(r"(\d+)")


def _by_name(party: PartyLine) -> tuple:
    """As a reader looks a school up: «№ 9» before «№ 10», ё with е, case ignored."""
    parts = _DIGITS.split(party.name.casefold().replace("ё", "е"))
    return tuple(int(p) if n % 2 else p for n, p in enumerate(parts)), party.id


def _organisations(ws: Worksheet, r: Report, st: _Styles) -> None:
    _widths(ws, ORG_WIDTHS)
    rows = sorted(r.organisations, key=_by_name)
    last = _parties(ws, 1, "Организация", rows, ORG_WIDTHS, st, with_id=True) - 1
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(ORG_HEADS))}{max(last, 2)}"
    _print_setup(ws, 1)


# === the file =================================================================================

class _StampedZip(ZipFile):
    """Every member dated the report's moment, not the clock's: the same report, the same bytes."""

    def __init__(self, file: io.BytesIO, moment: dt.datetime) -> None:
        super().__init__(file, "w", ZIP_DEFLATED)
        self.stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)

    def writestr(self, name, data, compress_type=None, compresslevel=None) -> None:
        if isinstance(name, str):
            name = ZipInfo(name, date_time=self.stamp)
            name.compress_type = ZIP_DEFLATED
        super().writestr(name, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None) -> None:
        """openpyxl writes each sheet to a temporary file first: its clock time would go in too."""
        with open(filename, "rb") as file:
            self.writestr(arcname or Path(filename).name, file.read(), compress_type, compresslevel)


def render(report: Report) -> bytes:
    wb, st = Workbook(), _Styles()
    _summary(wb.active, report, st)
    _items(wb.create_sheet("Мероприятия"), report, st)
    if report.organisations:
        _organisations(wb.create_sheet("Организации"), report, st)
    wb.active = 0
    return workbook_bytes(wb, title=f"Отчёт о выполнении плана мероприятий за {report.period.label}",
                          subject=report.plan_title, moment=report.generated_at)


def workbook_bytes(wb: Workbook, *, title: str, subject: str, moment: dt.datetime) -> bytes:
    """The workbook as a file stamped with the report's moment: the same report, the same bytes."""
    props = wb.properties
    props.title, props.subject = title, subject
    props.creator = props.lastModifiedBy = "nok-workflow"
    props.language = "ru-RU"
    # openpyxl wants naive UTC; save_workbook would stamp «modified» with the clock, ExcelWriter does not.
    props.created = props.modified = moment.astimezone(dt.UTC).replace(tzinfo=None)
    out = io.BytesIO()
    with _StampedZip(out, props.created) as archive:
        ExcelWriter(wb, archive).save()
    return out.getvalue()
