"""PDF plans with a text layer (pdfplumber): the ruled table on each page, and the text above
the first table as the preamble.

A PDF keeps lines, not paragraphs: each cell's lines are put back together (`reflow`) — a line
ended where the next word would not fit is wrapped (joined by a space, or directly where a word
too long for the column was cut), one that ended early closes a paragraph ("\\n\\n", as Word's
paragraphs in a cell). A row cut by a page break continues on the next page in a row without a
number: its cells are joined to the row above by the same rule. A scan (no text), an encrypted
file or too many pages is refused with what it is and what to do; the parse runs under
`limits.run_limited`.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from nok_workflow.importer import limits
from nok_workflow.importer.archive import fail
from nok_workflow.importer.rows import RawDocument, Row
from nok_workflow.problems import InputError

MAX_PAGES = 300
_PARALLEL_FROM = 8  # pages: fewer are read by one child
_SAME_LINE = 2.0  # points: words whose tops differ less are on one line
_TOLERANCE = 1.0
_CLOSING = tuple(".,;:!?%")  # a line starting with one continues the word before it
_WORD_HYPHEN = re.compile(r"\w[-‐]$")  # `Южно-` at a line end: the word goes on
_LOCKED = ("PDF защищён паролем: снимите защиту (откройте и сохраните без пароля) "
           "или найдите исходный документ плана (.docx)")
_NO_TEXT = ("в PDF нет текста: страницы пусты или буквы сохранены как рисунок — найдите исходный документ "
            "плана (.docx) или PDF, сохранённый из Word")
_SCAN = ("это PDF без текстового слоя (скан или картинки страниц): текст таблицы из него не прочитать — "
         "найдите исходный документ плана (.docx) или PDF, сохранённый из Word («Файл → Сохранить как → PDF»)")


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    first: float  # width of the first word
    first_char: float  # width of the first character
    last: float  # width of the last word
    size: float
    right: float  # where the cell's text may end


@dataclass
class _Part:
    """What a child read of some pages."""

    preamble: list[str] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    chars: int = 0
    images: int = 0


@dataclass
class _Row:
    cells: list[list[Line]]
    page: int
    number: int  # on its page
    top: float
    bottom: float


def read_pdf(path: Path) -> RawDocument:
    """Checked and counted in one child; then the pages read in one child, or in two at once
    (halves) when there are enough of them to pay for it."""
    path = Path(path)
    count = limits.run_limited(count_pages_here, path, source=str(path))
    parts = 2 if count >= _PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1
    bounds = [1 + count * i // parts for i in range(parts + 1)]
    found = limits.run_limited_all([(read_pages_here, (path, bounds[i], bounds[i + 1])) for i in range(parts)],
                                   source=str(path))
    return _document(path, found)


def read_pdf_here(path: Path) -> RawDocument:
    """`read_pdf` in this process, without the limits: for code already inside a limited child."""
    return _document(path, [read_pages_here(path, 1, count_pages_here(path) + 1)])


def count_pages_here(path: Path) -> int:
    """The pages of a readable PDF (not encrypted, not too many, not none)."""
    count = _opened(path, _page_count)
    if count > MAX_PAGES:
        raise fail(path, f"в PDF {count} страниц — больше {MAX_PAGES}, это не план; "
                         "укажите документ с одним планом")
    if not count:
        raise fail(path, "файл повреждён: в PDF нет ни одной страницы")
    return count


def read_pages_here(path: Path, start: int, stop: int) -> _Part:
    """Pages start…stop-1 (from 1): their table rows, and the text above their first table."""
    def read(pdf) -> _Part:
        part = _Part()
        for page_no in range(start, stop):
            page = pdf.pages[page_no - 1]
            part.chars += len(page.chars)
            part.images += len(page.images)
            _read_page(page, page_no, part)
            page.flush_cache()
        return part

    return _opened(path, read)


def _opened(path: Path, work):
    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(path) as pdf:
            return work(pdf)
    except PdfminerException as exc:  # pdfplumber wraps what pdfminer raised
        raise _failure(path, exc.args[0] if exc.args else exc) from None
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        raise _failure(path, exc) from None


def _failure(path: Path, cause: object) -> BaseException:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
        return fail(path, _LOCKED)
    if isinstance(cause, MemoryError) or "allocate" in str(cause):  # zlib's MemoryError under RLIMIT_AS
        return MemoryError()
    return fail(path, f"файл повреждён: PDF не читается ({type(cause).__name__})")


def _document(path: Path, parts: list[_Part]) -> RawDocument:
    doc = RawDocument(str(path))
    for part in parts:
        doc.preamble.extend(part.preamble)
        if part.rows:
            break
    rows = [row for part in parts for row in part.rows]
    if not sum(part.chars for part in parts):
        raise fail(path, _SCAN if sum(part.images for part in parts) else _NO_TEXT)
    if not rows:
        raise fail(path, "в PDF не найдено таблиц с линиями: план должен быть таблицей "
                         "(№, Мероприятие, Срок, Ответственные, Результат); найдите исходный документ (.docx)")
    doc.rows = [Row([reflow(cell) for cell in row.cells], f"страница {row.page}, строка {row.number}")
                for row in _join_split_rows(rows)]
    return doc


def _page_count(pdf) -> int:
    """From the page tree's /Count: the pages are not parsed to count them."""
    from pdfminer.pdftypes import resolve1

    try:
        return int(resolve1(resolve1(pdf.doc.catalog["Pages"])["Count"]))
    except (KeyError, TypeError, ValueError):
        return len(pdf.pages)


def _read_page(page, page_no: int, part: _Part) -> None:
    tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
    words = page.extract_words(x_tolerance=1.5, extra_attrs=["size"])  # a space is ~0.3 em: 3.3 pt at 11 pt
    if not part.rows:
        top = tables[0].bbox[1] if tables else page.height
        part.preamble.extend(line.text for line in _lines([w for w in words if w["bottom"] <= top + _TOLERANCE]))
    words.sort(key=_middle_y)
    middles = [_middle_y(w) for w in words]
    number = 0
    for table in tables:
        for t_row in table.rows:
            number += 1
            top, bottom = t_row.bbox[1], t_row.bbox[3]
            band = words[bisect.bisect_left(middles, top):bisect.bisect_right(middles, bottom)]
            cells = [_lines([w for w in band if _inside(w, box)], box) if box else [] for box in t_row.cells]
            part.rows.append(_Row(cells, page_no, number, top, bottom))


def _middle_y(word: dict) -> float:
    return (word["top"] + word["bottom"]) / 2


def _join_split_rows(rows: list[_Row]) -> list[_Row]:
    """A row cut by a page break: the page's first row goes on the last row of the page before
    when that row reached the foot of the table area, the new row is no repeated header, and its
    first cell holds no item number of its own (`№` / `п/п` is a cut header cell)."""
    from nok_workflow.importer.header import header_columns
    from nok_workflow.importer.table import ITEM_NUMBER

    foot = max(row.bottom for row in rows)
    joined: list[_Row] = []
    for row in rows:
        previous = joined[-1] if joined else None
        if (previous is not None and row.number == 1 and previous.page == row.page - 1
                and len(previous.cells) == len(row.cells) and previous.bottom >= foot - 2 * _line_height(previous)
                and any(previous.cells[1:])):  # a heading spanning the table is never cut
            first = reflow(row.cells[0]).strip()
            texts = [reflow(c) for c in row.cells]
            if not header_columns(texts) and not (first and ITEM_NUMBER.fullmatch(first)):
                for index, lines in enumerate(row.cells):
                    previous.cells[index].extend(lines)
                continue
        joined.append(row)
    return joined


def _line_height(row: _Row) -> float:
    sizes = [line.size for cell in row.cells for line in cell]
    return 1.2 * max(sizes, default=12.0)


def _inside(word: dict, box: tuple[float, float, float, float]) -> bool:
    x = (word["x0"] + word["x1"]) / 2
    y = (word["top"] + word["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _lines(words: list[dict], box: tuple[float, float, float, float] | None = None) -> list[Line]:
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) < _SAME_LINE:
            lines[-1].append(word)
        else:
            lines.append([word])
    result = []
    for parts in lines:
        parts.sort(key=lambda w: w["x0"])
        first, last = parts[0], parts[-1]
        right = box[2] - (first["x0"] - box[0]) if box else float("inf")
        result.append(Line(" ".join(w["text"] for w in parts), first["x0"], last["x1"],
                           first["x1"] - first["x0"], (first["x1"] - first["x0"]) / max(len(first["text"]), 1),
                           last["x1"] - last["x0"], float(first.get("size") or 10), right))
    return result


def reflow(lines: list[Line]) -> str:
    """A cell's lines as Word had them: a line that ended where the next word would have fit
    closed a paragraph ("\n\n"); a line ended by a hyphen inside a word (`Южно-`) goes on
    directly; other line ends stay "\n", for `owners.split_cell` and `join_fragments` to read
    as the text layouts' lines (a line starting with a capital may be the next owner)."""
    text = ""
    for previous, line in zip([None, *lines], lines, strict=False):
        if previous is None:
            text = line.text
        elif previous.x1 + 0.3 * previous.size + line.first <= previous.right + _TOLERANCE:
            text += "\n\n" + line.text  # the next word would have fit: the paragraph ended
        elif _WORD_HYPHEN.search(previous.text) or line.text[:1] in _CLOSING:
            text += line.text  # `Южно-` + `Сахалинск`; `10.10` + `.` in a narrow number column
        elif previous.text.endswith((" -", " –", " —")) or previous.text in ("-", "–", "—"):
            text += " " + line.text  # a dash between words: not a word's hyphen for `join_fragments`
        else:
            text += "\n" + line.text
    return text

