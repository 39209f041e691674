"""A list of organisations (.xlsx, .ods, .csv) → rows of a coordinator's directory.

Columns are recognised by meaning, as a plan table's are (`header.py`): «Наименование» /
«Полное наименование», «Краткое наименование», «Электронная почта» / «E-mail» / «Адрес эл.
почты», «Группа» / «Тип ОО», «ИНН», and an optional «Идентификатор» (the id plans use). The
header is the first row of a sheet that names at least the name column. Pure: the store
decides what each row means for the directory (services/commands/directory_import.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nok_workflow.importer.tabular import read_grids
from nok_workflow.problems import InputError, Problem

MAX_ROWS = 20_000  # a region's list is a few thousand; more is not a list of organisations
COLUMNS = ("name", "short_name", "email", "group", "code", "id")
LABELS = {"name": "Наименование", "short_name": "Краткое наименование", "email": "Электронная почта",
          "group": "Группа", "code": "ИНН", "id": "Идентификатор"}
# Order matters: «Краткое наименование» is a short name before it is a name.
_MEANINGS = (
    ("short_name", re.compile(r"^(?:кратк\w*|сокращ\w*)\s+(?:наименовани|назван)")),
    ("email", re.compile(r"e-?mail|почт|^эл\w*\s*адрес")),
    ("name", re.compile(r"^(?:полн\w*\s+)?(?:наименовани|назван)\w*(?:\s+(?:организации|оо|учреждения))?$"
                        r"|^организаци[яи]$|^образовательн\w* (?:организаци|учреждени)\w*$")),
    ("group", re.compile(r"^(?:группа|тип|вид)(?:\s|$)")),
    ("code", re.compile(r"^инн$")),
    ("id", re.compile(r"^(?:идентификатор|id|код в плане)$")),
)


@dataclass(frozen=True)
class OrgRow:
    origin: str  # «список.xlsx, лист Лист1, строка 5»
    name: str
    short_name: str = ""
    email: str = ""
    group: str = ""
    code: str = ""
    id: str = ""


def meaning(cell: str) -> str | None:
    text = " ".join(cell.lower().replace("ё", "е").replace("\u00ad", "").split()).strip(" .:*")
    for name, pattern in _MEANINGS:
        if pattern.search(text):
            return name
    return None


def header_columns(cells: list[str]) -> dict[str, int] | None:
    """Column index of each meaning if ``cells`` is a header (it names the name column);
    a meaning found twice counts its first column."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell.strip() and (name := meaning(cell)) is not None:
            found.setdefault(name, index)
    return found if "name" in found else None


def read_org_list(path: Path) -> list[OrgRow]:
    """Every row under a recognised header, of every sheet; an empty or unrecognised file,
    or one longer than MAX_ROWS, is an InputError naming the file."""
    grids = read_grids(path)
    if not any(grid.rows for grid in grids):
        raise InputError([Problem(str(path), 0, 0, "файл пуст: в нём нет ни одной строки")])
    rows: list[OrgRow] = []
    seen_header = False
    for grid in grids:
        columns = None
        for cells, origin in zip(grid.rows, grid.origins, strict=False):
            if columns is None:
                columns = header_columns(cells)
                continue
            values = {name: _cell(cells, index) for name, index in columns.items()}
            if not any(values.values()):
                continue
            rows.append(OrgRow(origin=f"{grid.source}, {origin}", **values))
            if len(rows) > MAX_ROWS:
                raise InputError([Problem(str(path), 0, 0, f"в списке больше {MAX_ROWS:,} строк".replace(",", " ")
                                          + " — это не список организаций района; разделите файл на части")])
        seen_header = seen_header or columns is not None
    if not seen_header:
        wanted = ", ".join(f"«{LABELS[c]}»" for c in COLUMNS[:5])
        raise InputError([Problem(str(path), 0, 0, "не найдена строка заголовка со столбцом «Наименование»; "
                                                    f"ожидаются столбцы {wanted}")])
    if not rows:
        raise InputError([Problem(str(path), 0, 0, "в списке нет ни одной строки под заголовком")])
    return rows


def _cell(cells: list[str], index: int) -> str:
    return " ".join(cells[index].split()) if index < len(cells) else ""
