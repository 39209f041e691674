"""The report as a Word document in the form departments send up: «Отчёт о выполнении плана
мероприятий …», the period, the chart, the table by section and item (its header repeated on
every page, rows never split), totals, summaries by owner and organisation, a signature block.

python-docx sets up the document; the tables' rows are written as WordprocessingML text and
parsed in one go: python-docx's add_row()/cell.text cost milliseconds a cell, and a region's
report has thousands of cells."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt

from nok_workflow.reports.chart import chart_png
from nok_workflow.reports.model import (
    OUTCOME_WORDS,
    EvidenceRef,
    ItemLine,
    PartyLine,
    Report,
)
from nok_workflow.text import agree, date_short, percent, plural

FONT = "Times New Roman"
ORGANISATIONS_MAX = 200  # in Word only the lagging ones, worst first; Excel lists them all
MARGIN_CM = 2.0
MAIN_HEADS = ["№ п/п", "Мероприятие", "Срок (по плану)", "Сроки в периоде", "Ответственные", "Статус",
              "Дата выполнения", "Документы", "Просрочка, дн."]
# cm; they add up to the text width of A4 landscape with 2 cm margins: 29.7 − 4 = 25.7
MAIN_WIDTHS = [1.3, 5.9, 2.7, 2.3, 3.2, 2.8, 2.1, 3.4, 2.0]
PARTY_WIDTHS = [8.1, 1.6, 2.5, 3.0, 2.5, 2.2, 2.3, 3.5]
TINTS = {"on_time": "C8E6C9", "late": "FFE082", "not_done": "FFCDD2", "in_progress": "BBDEFB", "cancelled": "E0E0E0"}
TABLE_PT, SUB_PT, HEAD_PT = 10, 9, 9
CHART_MAX_HEIGHT_CM = 10.0  # a plan of many sections draws a tall chart: it stays on the first page

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _ru(day: dt.date | None) -> str:
    return date_short(day) if day else ""


def _number(value: int) -> str:
    """6 000: thousands apart by a no-break space, as Russian typesetting has it."""
    return f"{value:,}".replace(",", "\u00a0")


def _twips(cm: float) -> int:
    return round(cm * 567)


# --- WordprocessingML as text ----------------------------------------------------------------

def _run(text: str, *, size: float, bold: bool = False, italic: bool = False) -> str:
    """Lines of `text` in one run, broken by w:br (python-docx reads them back as \\n)."""
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + f'<w:sz w:val="{round(size * 2)}"/>'
    lines = escape(_BAD_XML.sub("", text)).split("\n")
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{line}</w:t>' for line in lines)
    return f"<w:r><w:rPr>{props}</w:rPr>{body}</w:r>"


def _para(runs: str, *, align: str | None = None, keep_next: bool = False, indent_cm: float = 0) -> str:
    props = ("<w:keepNext/>" if keep_next else "") + '<w:spacing w:before="0" w:after="0" w:line="240" ' \
            'w:lineRule="auto"/>' + (f'<w:ind w:left="{_twips(indent_cm)}"/>' if indent_cm else "") \
            + (f'<w:jc w:val="{align}"/>' if align else "")
    return f"<w:p><w:pPr>{props}</w:pPr>{runs}</w:p>"


def _cell(width_cm: float, content: str, *, span: int = 1, fill: str | None = None) -> str:
    props = f'<w:tcW w:w="{_twips(width_cm)}" w:type="dxa"/>' + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
    if fill:
        props += f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>"


def _row(cells: str, *, header: bool = False) -> str:
    """cantSplit: a row stays on one page; tblHeader: the row repeats at the top of every page."""
    return f'<w:tr><w:trPr><w:cantSplit/>{"<w:tblHeader/>" if header else ""}</w:trPr>{cells}</w:tr>'


def _table(widths: list[float], rows: Iterable[str], *, borders: bool = True) -> str:
    edge = '<w:{0} w:val="single" w:sz="4" w:space="0" w:color="000000"/>' if borders else '<w:{0} w:val="nil"/>'
    sides = "".join(edge.format(side) for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    grid = "".join(f'<w:gridCol w:w="{_twips(w)}"/>' for w in widths)
    return (f"<w:tbl {nsdecls('w', 'r')}><w:tblPr><w:tblW w:w=\"{_twips(sum(widths))}\" w:type=\"dxa\"/>"
            f'<w:jc w:val="center"/><w:tblBorders>{sides}</w:tblBorders><w:tblLayout w:type="fixed"/>'
            '<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
            f'<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{"".join(rows)}</w:tbl>')


def _head_row(heads: list[str], widths: list[float]) -> str:
    return _row("".join(_cell(w, _para(_run(h, size=HEAD_PT, bold=True), align="center", keep_next=True),
                              fill="E8E8E8") for h, w in zip(heads, widths)), header=True)


def _text_cell(width: float, text: str, *, size: float = TABLE_PT, bold: bool = False, align: str | None = None,
               fill: str | None = None) -> str:
    return _cell(width, _para(_run(text, size=size, bold=bold), align=align), fill=fill)


class _Links:
    """External hyperlink relationships of the document part, one per address."""

    def __init__(self, part) -> None:
        self.part, self.ids = part, {}

    def __call__(self, url: str) -> str:
        if url not in self.ids:
            self.ids[url] = self.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        return self.ids[url]


def _documents(evidence: list[EvidenceRef], links: _Links, size: float) -> str:
    """File name (a real w:hyperlink, clickable in Word) and its short hash in brackets."""
    runs = []
    for n, e in enumerate(evidence):
        if n:
            runs.append("<w:r><w:br/></w:r>")
        name = escape(_BAD_XML.sub("", e.name))
        if e.url:
            runs.append(f'<w:hyperlink r:id="{links(e.url)}" w:history="1"><w:r><w:rPr><w:color w:val="0563C1"/>'
                        f'<w:u w:val="single"/><w:sz w:val="{round(size * 2)}"/></w:rPr>'
                        f'<w:t xml:space="preserve">{name}</w:t></w:r></w:hyperlink>')
        else:
            runs.append(_run(e.name, size=size))
        if e.sha256:
            runs.append(_run(f" [{e.sha256}]", size=size - 1))
    return _para("".join(runs))


def _due_dates(item: ItemLine) -> str:
    shown = ", ".join(_ru(d) for d in item.due_dates[:6])
    return shown + (f" и ещё {len(item.due_dates) - 6}" if len(item.due_dates) > 6 else "")


def _item_row(item: ItemLine, links: _Links) -> str:
    w = MAIN_WIDTHS
    title = _run(item.title, size=TABLE_PT)
    if item.results:
        title += _run("\nДокумент: " + "; ".join(item.results), size=SUB_PT, italic=True)
    return _row(
        _text_cell(w[0], item.number) + _cell(w[1], _para(title)) + _text_cell(w[2], item.deadline)
        + _text_cell(w[3], _due_dates(item)) + _text_cell(w[4], ", ".join(item.owners))
        + _text_cell(w[5], item.status, bold=True, fill=TINTS.get(item.outcome or ""))
        + _text_cell(w[6], _ru(item.completed_on)) + _cell(w[7], _documents(item.evidence, links, TABLE_PT))
        + _text_cell(w[8], "" if item.days_late is None else str(item.days_late), align="right"))


def _obligation_rows(item: ItemLine, links: _Links) -> Iterable[str]:
    """One sub-row per obligation of an item that has several: whose or which period, its due date,
    outcome, date, documents and delay, in smaller type under the item's row."""
    w, s = MAIN_WIDTHS, SUB_PT
    for o in item.obligations:
        yield _row(
            _text_cell(w[0], "", size=s)
            + _cell(w[1], _para(_run(o.organisation or o.period, size=s), indent_cm=0.3))
            + _text_cell(w[2], o.period if o.organisation else "", size=s) + _text_cell(w[3], _ru(o.due), size=s)
            + _text_cell(w[4], "", size=s) + _text_cell(w[5], o.status, size=s, fill=TINTS[o.outcome])
            + _text_cell(w[6], _ru(o.completed_on), size=s) + _cell(w[7], _documents(o.evidence, links, s))
            + _text_cell(w[8], "" if o.days_late is None else str(o.days_late), size=s, align="right"))


def _main_rows(r: Report, links: _Links) -> Iterable[str]:
    w = MAIN_WIDTHS
    yield _head_row(MAIN_HEADS, w)
    for s in r.sections:
        # keepNext: a section's title is not left alone at the foot of a page
        yield _row(_cell(sum(w), _para(_run(f"{s.number} {s.title}".strip(), size=TABLE_PT, bold=True),
                                       keep_next=True), span=len(w), fill="F1F1F1"))
        for item in s.items:
            yield _item_row(item, links)
            yield from _obligation_rows(item, links)
    yield _totals_row(r)


def _keep_with_next(row: str) -> str:
    return row.replace("<w:pPr><w:keepNext/>", "<w:pPr>").replace("<w:pPr>", "<w:pPr><w:keepNext/>")


def _with_totals(rows: Iterable[str]) -> Iterable[str]:
    """The last line before the totals keeps with them: «Итого» never opens a page alone."""
    rows = list(rows)
    if len(rows) > 2:
        rows[-2] = _keep_with_next(rows[-2])
    return rows


def _totals_row(r: Report) -> str:
    w = MAIN_WIDTHS
    t = r.totals
    words = (f"в срок — {t.on_time}; с нарушением срока — {t.late}; не выполнено — {t.not_done}; "
             f"в работе — {t.in_progress}; отменено — {t.cancelled}; выполнено {percent(t.percent('done'))}")
    label = f"Итого: {plural(t.total, 'обязательство', 'обязательства', 'обязательств')} со сроком в периоде"
    return _row(_cell(sum(w[:5]), _para(_run(label, size=TABLE_PT, bold=True)), span=5, fill="F1F1F1")
                + _cell(sum(w[5:]), _para(_run(words, size=TABLE_PT, bold=True)), span=4, fill="F1F1F1"))


def _party_rows(rows: list[PartyLine]) -> Iterable[str]:
    w = PARTY_WIDTHS
    yield _head_row(["Наименование", "Всего", *OUTCOME_WORDS.values(), "% выполнения"], w)
    for p in rows:
        c = p.counts
        numbers = [c.total, *(getattr(c, k) for k in OUTCOME_WORDS)]
        yield _row(_text_cell(w[0], p.name)
                   + "".join(_text_cell(width, str(v), align="right") for width, v in zip(w[1:], numbers))
                   + _text_cell(w[-1], percent(c.percent("done")), align="right"))


def _lagging(rows: list[PartyLine]) -> list[PartyLine]:
    """Organisations with something not done or late, worst first: most not done, then most late."""
    behind = [p for p in rows if p.counts.not_done or p.counts.late]
    return sorted(behind, key=lambda p: (-p.counts.not_done, -p.counts.late, p.counts.percent("done"), p.name)
                  )[:ORGANISATIONS_MAX]


def _signature_rows(coordinator: str) -> Iterable[str]:
    widths = [11.0, 6.0, 8.7]
    line = [coordinator, "_____________________", "/ _____________________ /"]
    under = ["", "(подпись)", "(расшифровка подписи)"]
    yield _row("".join(_cell(w, _para(_run(t, size=12), align=a, keep_next=True))
                       for w, t, a in zip(widths, line, (None, "center", "center"))))
    yield _row("".join(_cell(w, _para(_run(t, size=8), align="center", keep_next=True)) for w, t in zip(widths, under)))


# --- the document ----------------------------------------------------------------------------

def _add_table(doc, xml: str) -> None:
    doc.element.body._insert_tbl(parse_xml(xml))


def _paragraph(doc, text: str, *, bold: bool = False, size: float = 12, align=None, after: float = 4,
               keep_next: bool = False):
    paragraph = doc.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        run.bold, run.font.size = bold, Pt(size)
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after, fmt.keep_with_next = Pt(0), Pt(after), keep_next or None
    if align is not None:
        paragraph.alignment = align
    return paragraph


def _fonts(doc) -> None:
    """Times New Roman and Russian (ru-RU, so Word spell-checks in Russian) for every style: set on
    the document defaults, without the template's theme fonts (which would win over a font name)."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for tag in ("w:rFonts", "w:lang"):
        for old in r_pr.findall(qn(tag)):
            r_pr.remove(old)
    fonts = OxmlElement("w:rFonts")
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    r_pr.insert(0, fonts)
    lang = OxmlElement("w:lang")
    for attr in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attr), "ru-RU")
    r_pr.append(lang)
    for style in doc.styles.element.findall(qn("w:style")):
        s_r_pr = style.find(qn("w:rPr"))
        if s_r_pr is None:
            continue
        for old in s_r_pr.findall(qn("w:rFonts")):  # the template's headings name theme fonts
            s_r_pr.remove(old)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:cs"), FONT)
    normal_lang = OxmlElement("w:lang")
    normal_lang.set(qn("w:val"), "ru-RU")
    normal.element.get_or_add_rPr().append(normal_lang)


def _page_number(section) -> None:
    """A centred page number in the footer: the PAGE field."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:rPr><w:sz w:val="20"/></w:rPr><w:t>1</w:t></w:r>'
        "</w:fldSimple>"))


def _setup_page(doc, *, title: str, subject: str, keywords: str, comments: str, moment: dt.datetime) -> None:
    """A4 landscape, 2 cm margins, page numbers, Times New Roman in Russian, the document's properties."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))
    section.header_distance = section.footer_distance = Cm(1.0)
    _page_number(section)
    _fonts(doc)
    props = doc.core_properties
    props.title, props.subject, props.author, props.language = title, subject, "nok-workflow", "ru-RU"
    props.keywords, props.comments, props.category = keywords, comments, "Отчёт"
    # the report's own moment, not the clock: the same report gives the same document
    moment = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    props.created = props.modified = props.last_printed = moment
    props.last_modified_by, props.revision = "nok-workflow", 1


def _setup(doc, r: Report) -> None:
    _setup_page(doc, title=f"Отчёт о выполнении плана мероприятий за {r.period.label}", subject=r.plan_title,
                keywords=r.plan_id, comments=f"по состоянию на {_ru(r.as_of)}", moment=r.generated_at)


def _chart(doc, r: Report) -> None:
    png = chart_png(r)
    width_px, height_px = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # IHDR
    width = 16.0
    if height_px and width * height_px / width_px > CHART_MAX_HEIGHT_CM:
        width = CHART_MAX_HEIGHT_CM * width_px / height_px
    doc.add_picture(io.BytesIO(png), width=Cm(width))
    picture = doc.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.space_after = Pt(6)


def _keep_last_row_with_next(doc) -> None:
    """The signature block does not stand alone on the last page: the last table row goes with it."""
    rows = doc.element.body.findall(qn("w:tbl"))[-1].findall(qn("w:tr"))
    for p_pr in rows[-1].iter(qn("w:pPr")):
        if p_pr.find(qn("w:keepNext")) is None:
            p_pr.insert(0, OxmlElement("w:keepNext"))


def render(report: Report) -> bytes:
    r = report
    doc = Document()
    _setup(doc, r)
    links = _Links(doc.part)
    approval = [x for x in (f"Утверждён: {r.approved_by}" if r.approved_by else None, r.approval_act) if x]
    if approval:
        _paragraph(doc, "\n".join(approval), size=10, align=WD_ALIGN_PARAGRAPH.RIGHT, after=8)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, "Отчёт о выполнении плана мероприятий", bold=True, size=14, align=centre, after=2)
    _paragraph(doc, f"«{r.plan_title}»", bold=True, align=centre, after=2)
    _paragraph(doc, f"за {r.period.label}", align=centre, after=0)
    _paragraph(doc, f"по состоянию на {_ru(r.as_of)}", align=centre, after=10)
    t = r.totals
    _paragraph(doc, f"Со сроком в периоде — {plural(t.total, 'обязательство', 'обязательства', 'обязательств')}: "
                    f"выполнено в срок — {t.on_time} ({percent(t.percent('on_time'))}), с нарушением срока — "
                    f"{t.late} ({percent(t.percent('late'))}), не выполнено — {t.not_done} "
                    f"({percent(t.percent('not_done'))}), в работе — {t.in_progress}, отменено — {t.cancelled}.",
               after=6).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _chart(doc, r)
    _paragraph(doc, "Выполнение мероприятий", bold=True, after=4, keep_next=True)
    _add_table(doc, _table(MAIN_WIDTHS, _with_totals(_main_rows(r, links))))
    if r.owners:
        _paragraph(doc, "", after=6)
        _paragraph(doc, "Исполнение по ответственным", bold=True, keep_next=True)
        _add_table(doc, _table(PARTY_WIDTHS, _party_rows(r.owners)))
    if r.organisations:
        shown = _lagging(r.organisations)
        left_out = len(shown) < len(r.organisations)
        _paragraph(doc, "", after=6)
        _paragraph(doc, "Исполнение по организациям" + (" (с невыполненными и просроченными обязательствами)"
                                                       if left_out else ""), bold=True, keep_next=True)
        if shown:
            _add_table(doc, _table(PARTY_WIDTHS, _party_rows(shown)))
        if left_out:
            count = len(r.organisations)
            note = _paragraph(doc, f"Показаны {len(shown)} из {_number(count)} "
                                   f"{agree(count, 'организации', 'организаций', 'организаций')}. Полный список "
                                   "организаций — в файле Excel (лист «Организации»).", size=10, after=0,
                              keep_next=True)
            note.paragraph_format.space_before = Pt(4)
    _keep_last_row_with_next(doc)
    _paragraph(doc, "", after=12, keep_next=True)
    _add_table(doc, _table([11.0, 6.0, 8.7], _signature_rows(r.coordinator), borders=False))
    _paragraph(doc, "«___» ______________ 20___ г.").paragraph_format.space_before = Pt(6)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
