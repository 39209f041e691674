"""The two text layouts of converted plans (see ../shared/seeds/).

Layout "rows": one table row per line, cells separated by tabs; a long cell spills onto a
following line whose number cell is empty. Layout "cells": one cell per line, each
starting with a tab; lines without a tab continue the cell above; blank lines fall between
rows but also inside cells, so rows are cut by the header's column count instead.
"""

from __future__ import annotations

import re

from nok_workflow.importer.header import header_columns
from nok_workflow.importer.rows import RawDocument, Row, strip_markup
from nok_workflow.importer.table import HEADING

_PAGE_NUMBER = re.compile(r"\s*\d{1,3}\s*")


def read_text(text: str, source: str) -> RawDocument:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        cells = [strip_markup(c).strip() for c in line.split("\t")]
        if len([c for c in cells if c]) >= 2 and header_columns(cells):
            return _rows_layout(lines, index, source)
    return _cells_layout(lines, source)


def _rows_layout(lines: list[str], header: int, source: str) -> RawDocument:
    doc = RawDocument(source, preamble=[strip_markup(x) for x in lines[:header]])
    for number, line in enumerate(lines[header:], start=header + 1):
        if not line.strip() or _PAGE_NUMBER.fullmatch(line):
            continue
        bold = "<b>" in line.lower()
        cells = [strip_markup(c).strip() for c in line.split("\t")]
        doc.rows.append(Row(cells, f"строка {number}", bold))
    return doc


def _cells_layout(lines: list[str], source: str) -> RawDocument:
    """Cells first (a tab starts one), then rows: the header's cells fix the row width."""
    doc = RawDocument(source)
    cells: list[tuple[list[str], int]] = []  # (lines of the cell, line number)
    blank = False
    for number, line in enumerate(lines, start=1):
        if line.startswith("\t"):
            for part in line.split("\t")[1:]:
                cells.append(([strip_markup(part).strip()], number))
        elif not line.strip():
            blank = True
            continue
        elif not cells:
            doc.preamble.append(strip_markup(line))
        elif not _PAGE_NUMBER.fullmatch(line):
            # After a blank line the text is a new paragraph of the same cell.
            cells[-1][0].append(("\n" if blank else "") + strip_markup(line).strip())
        blank = False
    texts = ["\n".join(x for x in parts if x.strip()).strip() for parts, _ in cells]

    width = 0
    while width < len(texts) and header_columns(texts[: width + 1], partial=True):
        width += 1
    if width < 2 or not header_columns(texts[:width]):
        doc.rows = [Row([t], f"строка {n}") for t, (_, n) in zip(texts, cells, strict=True)]
        return doc
    doc.rows.append(Row(texts[:width], f"строка {cells[0][1]}"))
    i = width
    while i < len(texts):
        start_line = cells[i][1]
        if _is_heading(texts[i]):
            doc.rows.append(Row([texts[i]], f"строка {start_line}", bold=True))
            i += 1
            continue
        doc.rows.append(Row(texts[i : i + width], f"строка {start_line}"))
        i += width
    return doc


def _is_heading(text: str) -> bool:
    """`I. Подготовка …` stands alone as a section; a bare `1.` is an item's number."""
    return bool(HEADING.fullmatch(text.strip()))
