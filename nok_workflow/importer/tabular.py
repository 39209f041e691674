"""Tables from spreadsheets and CSV as plain grids of cell texts, for any importer.

`read_grids` reads an Excel workbook (.xlsx), an OpenDocument spreadsheet (.ods) or a CSV file
(UTF-8 with or without BOM, or Windows-1251; `;`, `,` or tab recognised) — by content, not by
name — in a child process under the limits of `limits.run_limited`. Empty rows are left out;
each row keeps its number as the application shows it. Merged cells stand once, in their first
column (as Word's do). Plans read from sheets (`sheet_reader`) and directory lists use this one
definition.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nok_workflow import filekinds
from nok_workflow.importer import limits
from nok_workflow.importer.archive import ZIP_ERRORS, fail, open_checked
from nok_workflow.problems import InputError, Problem

MAX_ROWS = 200_000
MAX_CSV_BYTES = 200 * 1024 * 1024
ENCODINGS = ("utf-8-sig", "cp1251")
DELIMITERS = ";,\t"
_EXPECTED = "ожидается таблица .xlsx, .ods или CSV (старый .xls сохраните в Excel или LibreOffice как .xlsx)"


@dataclass(frozen=True)
class Grid:
    source: str            # the file's name
    sheet: str | None      # sheet name (None for CSV)
    rows: list[list[str]]  # cell texts, stripped; merged cells once in their first column
    origins: list[str]     # per row: «лист «Школы», строка 5» / «строка 5»


def read_grids(path: Path, *, max_rows: int = MAX_ROWS) -> list[Grid]:
    """Every sheet of a workbook (in order), or the one table of a CSV file."""
    return limits.run_limited(read_grids_here, Path(path), max_rows, source=str(path))


def read_grids_here(path: Path, max_rows: int = MAX_ROWS) -> list[Grid]:
    """`read_grids` in this process, without the limits: for code already inside a limited child."""
    kind = spreadsheet_kind(path)
    if kind == filekinds.XLSX:
        from nok_workflow.importer.xlsx_grid import sheets

        return [_grid(path, name, rows, numbers) for name, rows, numbers in sheets(path, max_rows)]
    if kind == filekinds.ODS:
        return _read_ods(path, max_rows)
    return [_read_csv(path, max_rows)]


def spreadsheet_kind(path: Path) -> str | None:
    """XLSX or ODS by the zip's content; None for anything that is not a zip (CSV is tried)."""
    from nok_workflow.importer import sniff

    try:
        with path.open("rb") as handle:
            head = handle.read(sniff.HEAD_BYTES)
    except OSError as exc:
        raise fail(path, f"файл не читается: {exc.strerror or exc}") from None
    if not head:
        raise fail(path, "файл пуст")
    if not head.startswith(b"PK"):
        foreign = sniff.Foreign("это PDF", "") if sniff.is_pdf(head) else sniff.describe(path, head)
        if foreign is not None:
            raise fail(path, f"{foreign.what}: {_EXPECTED}")
        return None
    import zipfile

    names = open_checked(path, "таблица .xlsx или .ods")
    if filekinds.main_part(names) == filekinds.XLSX:
        return filekinds.XLSX
    if filekinds.MIMETYPE in names:
        try:
            with zipfile.ZipFile(path) as archive:
                if filekinds.declared_mimetype(archive, 100) == filekinds.ODS:
                    return filekinds.ODS
        except ZIP_ERRORS:
            pass
    raise fail(path, f"это не таблица: {_EXPECTED}")


def _grid(path: Path, sheet: str | None, rows: list[list[str]], numbers: list[int]) -> Grid:
    where = f"лист «{sheet}», " if sheet is not None else ""
    return Grid(path.name, sheet, rows, [f"{where}строка {n}" for n in numbers])


def _read_ods(path: Path, max_rows: int) -> list[Grid]:
    import odfdo

    from nok_workflow.importer.odf_tables import rows

    try:
        document = odfdo.Document(str(path))
        tables = document.body.get_tables()
    except Exception as exc:  # odfdo/lxml raise many kinds on a damaged package
        raise fail(path, f"файл повреждён: {type(exc).__name__}") from None
    grids = []
    for table in tables:
        name = table.name or f"Лист{len(grids) + 1}"
        found = list(rows(table, "\n", str(path), max_rows, f"лист «{name}»"))
        grids.append(_grid(path, name, [c for _, c in found], [n for n, _ in found]))
    return grids


def _read_csv(path: Path, max_rows: int) -> Grid:
    data = path.read_bytes()[: MAX_CSV_BYTES + 1]
    if len(data) > MAX_CSV_BYTES:
        raise fail(path, f"файл больше {MAX_CSV_BYTES // (1024 * 1024)} МБ — слишком много для таблицы")
    text = decode(data, path)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers, start = [], [], 1
    try:
        for record in reader:
            cells = [c.strip() for c in record]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                if len(rows) >= max_rows:
                    raise fail(path, f"больше {max_rows} строк — слишком много; разделите файл")
                rows.append(cells)
                numbers.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError([Problem(str(path), reader.line_num, 0, f"строка {reader.line_num}: "
                                                                  f"CSV не читается ({exc})")]) from None
    return _grid(path, None, rows, numbers)


def decode(data: bytes, path: Path | str) -> str:
    """UTF-8 (with or without BOM), else Windows-1251 — what Excel in Russia writes."""
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise fail(path, "файл не в кодировке UTF-8 или Windows-1251 и не таблица Excel/OpenDocument")


def sniff_delimiter(text: str) -> str:
    """`;`, `,` or tab: the one that splits the first lines into the same, largest count of cells."""
    sample = text[:64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = next((line for line in sample.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ";"
