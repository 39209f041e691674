"""The table of a plan in the №457 form (plan/form457.py): a two-level header (the «Сведения о
ходе реализации мероприятия» span over «реализованные меры…» and «фактический срок…»), often
a numbering row «1 2 3 4 5 6», section rows by criterion spanning the table, and measure rows
whose shortcoming cell may be empty or merged: it then continues the shortcoming above.

A merged cell comes from a reader either once (the others empty) or repeated in each of its
columns or rows; both read alike here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nok_workflow.importer.header import LABELS, header_columns, meaning
from nok_workflow.importer.rows import RawDocument, Row, join_fragments
from nok_workflow.importer.table import HEADING
from nok_workflow.plan.form457 import CRITERIA, ROMAN, criterion_of, plain_title
from nok_workflow.problems import InputError, Problem

REQUIRED = ("shortcoming", "activity", "deadline", "owners")
_NUMBERING = re.compile(r"\d{1,2}\.?")


@dataclass
class FormItem:
    number: str
    origin: str
    shortcoming: str
    title: str
    deadline: str
    owners: str
    measures: str = ""
    done: str = ""


@dataclass
class FormSection:
    number: str | None
    title: str
    criterion: int | None
    origin: str
    items: list[FormItem] = field(default_factory=list)


@dataclass
class FormTable:
    sections: list[FormSection]
    notes: list[tuple[str, str]]  # (origin, what the importer was unsure of)


def form_header(doc: RawDocument) -> tuple[int, dict[str, int]] | None:
    """(row index, columns) of the form's header: a row with a «Недостатки» column and another
    the form has; a column of no known meaning is left out (and named if one is missing)."""
    for index, row in enumerate(doc.rows):
        columns: dict[str, int] = {}
        for at, cell in enumerate(row.cells):
            if cell.strip() and not (at and cell == row.cells[at - 1]) and (name := meaning(cell)):
                columns.setdefault(name, at)
        if "shortcoming" in columns and len(columns) >= 2:
            return index, columns
    return None


def is_form(doc: RawDocument) -> bool:
    return form_header(doc) is not None


def structure_form(doc: RawDocument) -> FormTable:
    found = form_header(doc)
    assert found is not None, "structure_form is for a document is_form accepted"
    at, columns = found
    header = doc.rows[at]
    body = doc.rows[at + 1:]
    # The second header row: the progress span's two sub-columns (or the header repeated by a
    # vertically merged cell), then perhaps the numbering row «1 2 3 4 5 6».
    while body and (_subheader(body[0], columns) or _numbering(body[0])):
        body = body[1:]
    if "progress" in columns:  # the span's two columns, if their titles were not read
        columns.setdefault("measures", columns["progress"])
        columns.setdefault("done_on", columns["measures"] + 1)
    columns.pop("progress", None)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        seen = "; ".join(f"«{' '.join(c.split())}»" for c in dict.fromkeys(header.cells) if c.strip())
        raise InputError([Problem(doc.source, 0, 0, (
            f"{header.origin}: таблица похожа на форму № 457, но в ней нет столбца "
            + ", ".join(f"«{_LABEL[c]}»" for c in missing) + f"; найдены столбцы: {seen}"))])
    notes: list[tuple[str, str]] = []
    if "measures" not in columns:
        notes.append((header.origin, "в таблице нет столбцов «Сведения о ходе реализации мероприятия»"))
    sections: list[FormSection] = []
    counter = 0
    for row in body:
        cells = {name: _cell(row, index) for name, index in columns.items()}
        distinct = list(dict.fromkeys(c for c in row.cells if c.strip()))
        if not distinct or _numbering(row) or _is_header_again(row, columns):
            continue  # empty, or the header repeated on a new page
        if len(distinct) == 1 and _section_row(row, distinct[0], cells):
            text = " ".join(distinct[0].split())
            m = HEADING.fullmatch(text)
            criterion = criterion_of(text)
            number = m["number"] if m else (ROMAN[criterion] if criterion else None)
            sections.append(FormSection(number, plain_title(text) if m else text, criterion, row.origin))
            continue
        if not sections:
            sections.append(FormSection(None, "", None, row.origin))
        section = sections[-1]
        if not cells["activity"] and not cells["deadline"] and not cells["owners"]:
            if section.items and cells["shortcoming"]:
                notes.append((row.origin, "недостаток без мероприятия: «" + _one(cells["shortcoming"]) + "» пропущен"))
                continue
            notes.append((row.origin, "строка пропущена: " + " | ".join(distinct)))
            continue
        shortcoming = _one(cells["shortcoming"])
        if not shortcoming and section.items:
            shortcoming = section.items[-1].shortcoming  # an empty or merged cell: the one above
        if "number" in columns and cells["number"].strip():
            number = cells["number"].strip().rstrip(".")
        else:
            counter += 1
            number = str(counter)
        section.items.append(FormItem(
            number, row.origin, shortcoming, _one(cells["activity"]), _one(cells["deadline"]),
            cells["owners"].strip(), _one(cells.get("measures", "")), _one(cells.get("done_on", ""))))
    sections = [s for s in sections if s.items]
    if not sections:
        raise InputError([Problem(doc.source, 0, 0, "в таблице формы № 457 не найдено ни одного мероприятия")])
    return FormTable(sections, notes)


_LABEL = {**LABELS, "shortcoming": "Недостатки, выявленные в ходе независимой оценки качества…",
          "activity": "Наименование мероприятия по устранению недостатков…",
          "deadline": "Плановый срок реализации мероприятия",
          "owners": "Ответственный исполнитель"}


def _cell(row: Row, index: int) -> str:
    return row.cells[index] if index < len(row.cells) else ""


def _one(text: str) -> str:
    return join_fragments(text.split("\n"))


def _subheader(row: Row, columns: dict[str, int]) -> bool:
    """The header's second row: the progress sub-columns, found and added to `columns`."""
    sub = header_columns(row.cells, partial=True)
    if not sub or not ({"measures", "done_on"} & set(sub) or _is_header_again(row, columns)):
        return False
    for name in ("measures", "done_on"):
        if name in sub:
            columns[name] = sub[name]
    return True


def _is_header_again(row: Row, columns: dict[str, int]) -> bool:
    sub = header_columns(row.cells, partial=True) or {}
    return bool(sub) and all(columns.get(k) == v or k in ("measures", "done_on", "progress") for k, v in sub.items())


def _numbering(row: Row) -> bool:
    """«1 2 3 4 5 6»: every filled cell a small number, in order from 1."""
    filled = [c.strip().rstrip(".") for c in row.cells if c.strip()]
    return len(filled) >= 3 and all(_NUMBERING.fullmatch(c) for c in filled) and filled[0] == "1" and \
        [int(c) for c in filled] == list(range(1, len(filled) + 1))


def _section_row(row: Row, text: str, cells: dict[str, str]) -> bool:
    """A row spanning the table with one text: a criterion («I. Открытость…»), or a numbered
    heading in the first column."""
    flat = " ".join(text.split())
    if criterion_of(flat) is not None and _plain(flat) in _TITLES:
        return True
    return bool(HEADING.fullmatch(flat)) and row.cells[0].strip() == text.strip() and not cells["owners"]


def _plain(text: str) -> str:
    return plain_title(text).lower().replace("ё", "е").rstrip(".")


_TITLES = {_plain(t) for t in CRITERIA.values()}
