"""Plans kept as a sheet (.xlsx, .ods, or CSV): the first sheet with a header row recognised by
meaning (`header.header_columns`) is the plan's table; the rows above it are the preamble."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nok_workflow.importer.header import header_columns
from nok_workflow.importer.rows import RawDocument, Row
from nok_workflow.importer.tabular import Grid, decode, read_grids, sniff_delimiter
from nok_workflow.problems import InputError, Problem

_LOOK = 50  # rows searched for a header in a text file that may be CSV


def read_sheet_plan(path: Path) -> RawDocument:
    return plan_from_grids(path, read_grids(path))


def plan_from_grids(path: Path, grids: list[Grid]) -> RawDocument:
    for grid in grids:
        for index, cells in enumerate(grid.rows):
            if header_columns(cells):
                preamble = [" ".join(c for c in row if c) for row in grid.rows[:index]]
                rows = [Row(list(c), origin) for c, origin in zip(grid.rows[index:], grid.origins[index:], strict=True)]
                return RawDocument(str(path), preamble, rows)
    sheets = ", ".join(f"«{g.sheet}»" for g in grids if g.sheet is not None)
    where = f"ни на одном листе ({sheets})" if sheets else "в таблице"
    raise InputError([Problem(str(path), 0, 0, (
        f"{where} не найдена строка заголовков плана: ожидались столбцы «№», «Мероприятие», «Срок», "
        "«Ответственные», «Результат» (в любом порядке, часть может отсутствовать)"))])


def is_csv(data: bytes, path: Path) -> bool:
    """A text file to read as CSV rather than as a tab-separated text layout: cells split by
    `;` or `,`, and either a plan header among the first rows or a text that is not UTF-8."""
    try:
        data.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    try:
        text = decode(data, path)
    except InputError:
        return False
    delimiter = sniff_delimiter(text)
    if delimiter == "\t":
        return False
    rows = [r for _, r in zip(range(_LOOK), csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))]
    if not any(len([c for c in r if c.strip()]) >= 2 for r in rows):
        return False
    return not utf8 or any(header_columns([c.strip() for c in r]) for r in rows)
