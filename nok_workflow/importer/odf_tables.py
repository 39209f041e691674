"""Rows of an OpenDocument table (odfdo), bounded: a spreadsheet saved by LibreOffice ends each
row with ~16 000 repeated empty cells and the sheet with a million repeated empty rows, so
repeats are counted, never expanded into empty cells or rows. A covered cell (under a merge)
is empty: the merged value stands once, in its first column, as Word's does."""

from __future__ import annotations

from collections.abc import Iterator

from nok_workflow.problems import InputError, Problem

MAX_COLUMNS = 200  # a plan or a list is a few columns wide; cells beyond are not read
_ROWS = "table:table-row|table:table-header-rows/table:table-row|table:table-row-group/table:table-row"
_CELLS = "table:table-cell|table:covered-table-cell"


def cell_text(cell, separator: str) -> str:
    """Paragraphs of a cell joined by `separator` ("\\n" in a sheet: lines of one cell;
    "\\n\\n" in a text document: paragraphs, as Word's)."""
    if cell.tag == "table:covered-table-cell":
        return ""
    paragraphs = [str(p).rstrip("\n") for p in cell.get_elements("text:p|text:h")]
    if separator == "\n\n":
        paragraphs = [p for p in paragraphs if p.strip()]
    text = separator.join(paragraphs).strip()
    if not text and (value := cell.get_attribute("office:value")) is not None:
        text = str(value)
    return text


def rows(table, separator: str, source: str, max_rows: int, where: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as the application shows it, cell texts) of each non-empty row."""
    number, kept = 0, 0
    for row in table.get_elements(_ROWS):
        repeat = row.repeated or 1
        cells: list[str] = []
        for cell in row.get_elements(_CELLS):
            if len(cells) >= MAX_COLUMNS:
                break
            times = min(cell.repeated or 1, MAX_COLUMNS - len(cells))
            cells.extend([cell_text(cell, separator)] * times)
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            for offset in range(repeat):
                kept += 1
                if kept > max_rows:
                    raise InputError([Problem(source, 0, 0, f"{where}: больше {max_rows} строк — "
                                                            "слишком много; разделите файл")])
                yield number + offset + 1, cells
        number += repeat
