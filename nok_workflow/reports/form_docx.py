"""The shortcomings plan's progress report as a Word document in the form № 457: the plan's
title, the quarter and «по состоянию на», and the form's table — six columns (the last two
under «Сведения о ходе реализации мероприятия»), a row numbering them 1–6, a row per criterion
and a row per measure; the header repeats on every page. A4 landscape, Times New Roman.

The table is written as WordprocessingML text with the general report's helpers (docx_file)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from nok_workflow.plan.form457 import COLUMNS, PROGRESS_HEADER
from nok_workflow.reports.docx_file import (
    _BAD_XML,
    HEAD_PT,
    TABLE_PT,
    _add_table,
    _cell,
    _Links,
    _para,
    _paragraph,
    _row,
    _run,
    _setup_page,
    _table,
    _text_cell,
    _twips,
)
from nok_workflow.reports.form_model import FormReport, FormRow, measure_line
from nok_workflow.text import date_short

# cm, A4 landscape with 2 cm margins: 25.7 in all
WIDTHS = [5.0, 5.6, 3.0, 4.0, 5.6, 2.5]
OVERDUE_FILL = "FFCDD2"


def _head_cell(width: float, text: str, *, merge: str | None = None, span: int = 1) -> str:
    """A header cell; `merge` "restart" or "continue" joins it with the one below or above."""
    props = f'<w:tcW w:w="{_twips(width)}" w:type="dxa"/>' + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
    if merge:
        props += '<w:vMerge w:val="restart"/>' if merge == "restart" else "<w:vMerge/>"
    props += '<w:shd w:val="clear" w:color="auto" w:fill="E8E8E8"/><w:vAlign w:val="center"/>'
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{_para(_run(text, size=HEAD_PT, bold=True), align='center')}</w:tc>"


def _head_rows() -> Iterable[str]:
    w = WIDTHS
    first = "".join(_head_cell(w[i], COLUMNS[i], merge="restart") for i in range(4))
    yield _row(first + _head_cell(w[4] + w[5], PROGRESS_HEADER, span=2), header=True)
    second = "".join(_head_cell(w[i], "", merge="continue") for i in range(4))
    yield _row(second + _head_cell(w[4], COLUMNS[4]) + _head_cell(w[5], COLUMNS[5]), header=True)
    yield _row("".join(_text_cell(w[i], str(i + 1), size=HEAD_PT, align="center") for i in range(6)), header=True)


def _measures(row: FormRow, links: _Links) -> str:
    """Each measure a paragraph: its text, the document as a link (clickable in Word), the date."""
    paragraphs = []
    for m in row.done:
        if m.document is None or not m.url:
            paragraphs.append(_para(_run(measure_line(m), size=TABLE_PT)))
            continue
        head = (f"{m.period}: " if m.period else "") + (f"{m.text} — " if m.text else "")
        name = escape(_BAD_XML.sub("", m.document))
        link = (f'<w:hyperlink r:id="{links(m.url)}" w:history="1"><w:r><w:rPr><w:color w:val="0563C1"/>'
                f'<w:u w:val="single"/><w:sz w:val="{TABLE_PT * 2}"/></w:rPr>'
                f'<w:t xml:space="preserve">{name}</w:t></w:r></w:hyperlink>')
        paragraphs.append(_para(_run(head, size=TABLE_PT) + link
                                + _run(f" от {date_short(m.document_date)}", size=TABLE_PT)))
    return "".join(paragraphs) or _para("")


def _body_rows(r: FormReport, links: _Links) -> Iterable[str]:
    w = WIDTHS
    yield from _head_rows()
    for s in r.sections:
        yield _row(_cell(sum(w), _para(_run(s.title, size=TABLE_PT, bold=True), align="center", keep_next=True),
                         span=6, fill="F1F1F1"))
        for row in s.rows:
            yield _row(_text_cell(w[0], row.shortcoming) + _text_cell(w[1], row.measure)
                       + _text_cell(w[2], row.deadline) + _text_cell(w[3], "\n".join(row.responsible))
                       + _cell(w[4], _measures(row, links))
                       + _text_cell(w[5], row.done_text, fill=OVERDUE_FILL if row.overdue_since else None))


def render(report: FormReport) -> bytes:
    r = report
    doc = Document()
    _setup_page(doc, title=f"Отчёт о ходе реализации плана за {r.period.label}", subject=r.plan_title,
                keywords=r.plan_id, comments=f"по состоянию на {date_short(r.as_of)}", moment=r.generated_at)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, r.plan_title, bold=True, size=13, align=centre, after=4)
    _paragraph(doc, f"Сведения о ходе реализации за {r.period.label}", align=centre, after=0)
    _paragraph(doc, f"по состоянию на {date_short(r.as_of)}", align=centre, after=10)
    _add_table(doc, _table(WIDTHS, _body_rows(r, _Links(doc.part))))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
