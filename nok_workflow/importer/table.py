"""From table rows to sections and items: header, headings, item rows, continuations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nok_workflow.importer.header import LABELS, header_columns
from nok_workflow.importer.rows import RawDocument, Row, join_fragments
from nok_workflow.problems import InputError, Problem

ITEM_NUMBER = re.compile(r"(?:[IVXLC]+|\d{1,3})(?:\.\s?\d{1,3})*\.?")
HEADING = re.compile(r"(?P<number>[IVXLC]+|\d{1,2})\.\s*(?P<title>\S.{3,})", re.DOTALL)


@dataclass
class RawItem:
    number: str
    origin: str
    title: list[str] = field(default_factory=list)
    deadline: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    result: list[str] = field(default_factory=list)

    def add(self, cells: dict[str, str]) -> None:
        for name in ("title", "deadline", "owners", "result"):
            if text := cells.get(name, "").strip():
                getattr(self, name).append(text)

    @property
    def owners_text(self) -> str:
        # Continuation rows continue the same owner (`Департамент` / `образования`).
        return " ".join(self.owners)

    def text(self, name: str) -> str:
        return join_fragments([line for part in getattr(self, name) for line in part.split("\n")])


@dataclass
class RawSection:
    number: str | None
    title: str
    origin: str
    items: list[RawItem] = field(default_factory=list)


@dataclass
class RawTable:
    sections: list[RawSection]
    columns: dict[str, int]
    notes: list[tuple[str, str]]  # (origin, what the importer was unsure of)


def structure(doc: RawDocument) -> RawTable:
    header_at, columns = _find_header(doc)
    notes: list[tuple[str, str]] = []
    missing = [LABELS[c] for c in ("deadline", "owners", "result") if c not in columns]
    if missing:
        notes.append((doc.rows[header_at].origin, "в таблице нет столбцов: " + ", ".join(missing)))
    sections: list[RawSection] = []
    last: RawItem | None = None

    def section(number: str | None, title: str, origin: str) -> None:
        sections.append(RawSection(number, " ".join(title.split()), origin))

    for row in doc.rows[header_at + 1 :]:
        cells = _by_meaning(row, columns)
        filled = [c for c in row.cells if c.strip()]
        number = " ".join(cells.get("number", "").split())
        if not filled or header_columns(row.cells) == columns:
            continue  # empty, or the header repeated on a new page
        heading = _heading(row, filled)
        if heading is not None:
            section(heading["number"] + ".", heading["title"], row.origin)
            last = None
        elif number and ITEM_NUMBER.fullmatch(number):
            rest = [cells.get(n, "") for n in ("deadline", "owners", "result")]
            if not any(r.strip() for r in rest) and _top_level(number) and cells.get("title"):
                section(number, cells["title"], row.origin)
                last = None
                continue
            if not sections:
                section(None, "", row.origin)
            last = RawItem(number, row.origin)
            last.add(cells)
            sections[-1].items.append(last)
        elif not number and last is not None:
            last.add(cells)  # a long cell spilled onto the next row
        elif not number and not sections:
            notes.append((row.origin, "строка до первого пункта пропущена: " + " | ".join(filled)))
        elif not number:
            sections[-1].title = join_fragments([sections[-1].title, *filled])
        elif len(filled) == 1:
            section(None, filled[0], row.origin)  # a heading without a number
            last = None
        else:
            notes.append((row.origin, f"номер пункта не распознан: «{number}»; строка добавлена "
                                      "к предыдущему пункту"))
            if last is not None:
                last.add({k: v for k, v in cells.items() if k != "number"} | {"title": " ".join(filled)})
    sections = [s for s in sections if s.items]
    if not sections:
        raise InputError([Problem(doc.source, 0, 0, "в таблице не найдено ни одного пункта плана")])
    return RawTable(sections, columns, notes)


def _find_header(doc: RawDocument) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(doc.rows):
        if columns := header_columns(row.cells):
            return index, columns
    raise InputError([Problem(
        doc.source, 0, 0,
        "не найдена строка заголовков таблицы: ожидались столбцы «№», «Мероприятие», «Срок», "
        "«Ответственные», «Результат» (в любом порядке, часть может отсутствовать)",
    )])


def _by_meaning(row: Row, columns: dict[str, int]) -> dict[str, str]:
    names = {"activity": "title"}
    return {
        names.get(name, name): row.cells[index] if index < len(row.cells) else ""
        for name, index in columns.items()
    }


def _heading(row: Row, filled: list[str]) -> re.Match[str] | None:
    """`1. Подготовительные мероприятия …` alone on a row (bold, or in the first column)."""
    if len(filled) != 1 or not (row.bold or row.cells[0].strip() == filled[0].strip()):
        return None
    return HEADING.fullmatch(filled[0].strip())


def _top_level(number: str) -> bool:
    """`1.`, `2`, `IV.` — not `1.2`: a candidate for a section heading row."""
    return "." not in number.strip().rstrip(".")
