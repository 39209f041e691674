"""People in a «responsible» cell of the №457 form: «Фамилия Имя Отчество, должность» or
«должность Фамилия И.О.», several separated by «;» or by paragraphs/lines. A part that names no
person (a unit, «Администрация школы») stays a name without a position."""

from __future__ import annotations

import re
from itertools import pairwise

from slugify import slugify

from nok_workflow.importer.owners import Resolver, normalise_name

_WORD = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?"
_FULL = rf"{_WORD}\s+{_WORD}\s+{_WORD}"
_SHORT = rf"{_WORD}\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.?|[А-ЯЁ]\.\s?[А-ЯЁ]\.\s?{_WORD}"
_SEP = r"\s*(?:[,–—:-]\s*|\s)"
# «Директор Петров Иван Игоревич»: a position first is tried first, else «Директор Петров Иван»
# would be the name.
_PATTERNS = (
    re.compile(rf"^(?P<position>.+?){_SEP}(?P<name>{_FULL}|{_SHORT})$"),
    re.compile(rf"^(?P<name>{_FULL}|{_SHORT})(?:{_SEP}(?P<position>.+))?$"),
)
_NAME = re.compile(rf"(?<![А-ЯЁа-яё])(?:{_FULL}|{_SHORT})")
_HEAD = re.compile(r"^(?:директор|заведующ\w*|руководител\w*|начальник)\b(?!\s+(?:по|отдела|структурн))")


def split_people(cell: str) -> list[str]:
    """The parts of a cell: «;», then one part per name. A cell's lines are joined first (a
    narrow column wraps a name over two); a name at the start means «name, position» parts,
    each later name starting one; else «position name» parts, each name ending one."""
    parts: list[str] = []
    for chunk in cell.split(";"):
        text = " ".join(chunk.split())
        names = list(_NAME.finditer(text))
        if len(names) < 2:
            parts.append(text)
        elif names[0].start() == 0:
            cuts = [m.start() for m in names] + [len(text)]
            parts.extend(text[a:b] for a, b in pairwise(cuts))
        else:
            cuts = [0] + [m.end() for m in names]
            parts.extend(text[a:b] for a, b in pairwise(cuts))
            if text[cuts[-1]:].strip(" ,."):
                parts[-1] += text[cuts[-1]:]
    return [_trim(p) for p in parts if p.strip(" ,.")]


def _trim(text: str) -> str:
    """No separators at the ends; a final dot only if it ends an initial (`Иванова М.П.`)."""
    text = " ".join(text.split()).strip(" ,;")
    return text if re.search(r"(?:^|[\s.])[А-ЯЁ]\.$", text) else text.rstrip(" .,;")


def parse_people(cell: str) -> list[dict[str, str]]:
    """[{name, position?}] for each part of the cell; a part that is no person keeps its text."""
    people = []
    for part in split_people(cell):
        name, position = _parse(part)
        people.append({"name": name, **({"position": position} if position else {})})
    return people


def _names_person(text: str) -> bool:
    return any(p.match(_trim(text)) for p in _PATTERNS)


def _parse(part: str) -> tuple[str, str | None]:
    text = _trim(part)
    for pattern in _PATTERNS:
        if m := pattern.match(text):
            position = (m["position"] or "").strip(" ,.;–—-") or None
            return m["name"], position[:1].lower() + position[1:] if position else None
    return text, None


def is_head(position: str | None) -> bool:
    """«директор», «заведующий» — the organisation's head, not «заместитель директора»."""
    return bool(position) and bool(_HEAD.match(position.lower().replace("ё", "е")))  # type: ignore[union-attr]


def initials_key(name: str) -> str | None:
    """«Иванова Мария Петровна», «Иванова М.П.», «М.П. Иванова» → «иванова м п»."""
    caps = re.findall(r"[А-ЯЁа-яё-]+", name)
    if len(caps) == 3 and all(len(w) > 1 for w in caps):
        return normalise_name(f"{caps[0]} {caps[1][0]} {caps[2][0]}")
    if len(caps) == 3 and len(caps[0]) > 1 and len(caps[1]) == len(caps[2]) == 1:
        return normalise_name(f"{caps[0]} {caps[1]} {caps[2]}")
    if len(caps) == 3 and len(caps[2]) > 1 and len(caps[0]) == len(caps[1]) == 1:
        return normalise_name(f"{caps[2]} {caps[0]} {caps[1]}")
    return None


def resolve_people(resolver: Resolver, people: list[dict[str, str]], origin: str) -> tuple[list[str], list[str]]:
    """References for the people of a cell: a directory person by name or by surname and
    initials, else a new `kind: person` entry with the position; a part that names no person
    goes the usual way (`Resolver.resolve`)."""
    refs: list[str] = []
    notes: list[str] = []
    for person in people:
        name, position = person["name"], person.get("position")
        key = initials_key(name) if _names_person(name) else None
        if key is None:
            found, said = resolver.resolve(name, origin)
            notes.extend(said)
        else:
            ref = resolver.lookup(name) or next(
                (e["id"] for e in resolver.directory if e.get("kind") == "person" and initials_key(e["name"]) == key),
                None)
            if ref is None:
                surname, *rest = key.split()
                entry = {"name": name, "kind": "person", **({"position": position} if position else {})}
                ref = resolver.add(slugify(surname + "-" + "".join(rest)) or "person", entry, origin,
                                   f"«{name}»" + (f", {position}" if position else "") + " (без адреса почты)")
            found = [ref]
        refs.extend(r for r in found if r not in refs)
    return refs, notes
