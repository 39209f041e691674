"""Excel sheets (openpyxl, read-only) to cell texts: values as Excel shows them after the last
calculation (cached values); a formula Excel never calculated has none — named, not guessed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nok_workflow.importer.archive import fail, open_checked
from nok_workflow.problems import InputError, Problem


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y") if value.time() == dt.time() else value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


def sheets(path: Path, max_rows: int) -> list[tuple[str, list[list[str]], list[int]]]:
    """(sheet name, rows of texts, row numbers) of each sheet; empty rows left out."""
    names = open_checked(path, ".xlsx")
    if "xl/workbook.xml" not in names:
        raise fail(path, "в архиве нет xl/workbook.xml — это не таблица Excel")
    import openpyxl  # imported here to keep the CLI's start fast

    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise fail(path, f"файл повреждён: {type(exc).__name__}") from None
    values = None
    cached_values: dict[str, dict[str, object]] = {}
    result = []
    for sheet in formulas.worksheets:
        if not hasattr(sheet, "iter_rows"):
            continue  # a chart sheet
        sheet.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row
        rows, numbers, kept = [], [], 0
        for row in sheet.iter_rows():
            cells = [cell for cell in row if getattr(cell, "value", None) is not None]
            if not cells:
                continue
            kept += 1
            if kept > max_rows:
                raise fail(path, f"лист «{sheet.title}»: больше {max_rows} строк — слишком много; разделите файл")
            texts: list[str] = []
            for cell in cells:
                if cell.data_type == "f":
                    if values is None:
                        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
                    if sheet.title not in cached_values:
                        cached_values[sheet.title] = _cached(values[sheet.title])
                    cached = cached_values[sheet.title].get(cell.coordinate)
                    if cached is None:
                        raise InputError([Problem(str(path), 0, 0, (
                            f"лист «{sheet.title}», ячейка {cell.coordinate}: формула без вычисленного значения "
                            f"({str(cell.value)[:60]}) — откройте файл в Excel или LibreOffice, "
                            "пересчитайте и сохраните"))])
                    value = cached
                else:
                    value = cell.value
                index = cell.column - 1
                texts.extend([""] * (index - len(texts)))
                texts.append(text(value))
            while texts and not texts[-1]:
                texts.pop()
            if texts:
                rows.append(texts)
                numbers.append(cells[0].row)
        result.append((sheet.title, rows, numbers))
    return result


def _cached(sheet) -> dict[str, object]:
    """The values Excel stored with its formulas, by cell, read in one pass."""
    sheet.reset_dimensions()
    return {cell.coordinate: cell.value for row in sheet.iter_rows() for cell in row
            if getattr(cell, "value", None) is not None}
