"""Owner names that probably name one party: «Оператор» / «Организация-оператор»,
«МКУ "ИМЦ"» / «ИМЦ» / «Информационно-методический центр».

Only reported, never merged: one entry per party is the directory's decision (`aliases`),
so a wrong guess costs a line in the report, not a wrong owner in the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from nok_workflow.importer.owners import normalise_name

# Words that say what kind of body it is, not which one.
_GENERIC = re.compile(
    r"^(?:организаци|учреждени|муниципальн|государственн|казенн|бюджетн|автономн|областн|краев"
    r"|городск|районн)\w*$"
)
# Legal forms: МКУ, МБОУ, МАДОУ, ОГАУ, ФГБОУ, МУП, АНО…
_LEGAL_FORM = re.compile(r"^(?:(?:фг|ог|г|м)[абк]?(?:оу|доу|оудо|у|уп|п)|ано|нко|ооо|оао|зао|пао)$")
_MAX_PLACES = 4


def core(name: str) -> tuple[str, ...]:
    """The words that identify the party: no case, quotes, legal form or generic word."""
    words = re.findall(r"\w+", normalise_name(name))
    return tuple(w for w in words if not _GENERIC.match(w) and not _LEGAL_FORM.match(w))


def probably_same(a: str, b: str) -> bool:
    """Equal cores; one an abbreviation of the other (ИМЦ); or one core the start of the
    other (`Организация-оператор` and `Организация-оператор ОГАУ «УО ЦСНК»`)."""
    x, y = sorted((core(a), core(b)), key=len)
    if not x:
        return False  # nothing but generic words: «Организация» says nothing of which one
    if x == y[: len(x)]:
        return True
    return len(x) == 1 and len(y) >= 2 and len(x[0]) == len(y) and x[0] == "".join(w[0] for w in y)


@dataclass
class Party:
    """A directory entry as the import saw it: its names and where the document uses it."""

    id: str
    name: str
    names: list[str]
    places: list[str] = field(default_factory=list)
    given: bool = False  # from --directory, not created by this import

    def where(self) -> str:
        if not self.places:
            return "в справочнике, в документе не встречается"
        return places_text(self.places)


def places_text(origins: list[str]) -> str:
    """`строка 9`, `строка 35`, `строка 41` → `строки 9, 35, 41`; `таблица 1, строка 5` keeps
    its table. After `_MAX_PLACES` rows, only how many more."""
    ordered = sorted(set(origins), key=lambda o: [int(n) for n in re.findall(r"\d+", o)])
    groups: dict[str, list[str]] = {}
    for origin in ordered[:_MAX_PLACES]:
        m = re.fullmatch(r"(.*?)строка (\d+)", origin)
        prefix, row = (m.group(1), m.group(2)) if m else (origin + ", ", "")
        groups.setdefault(prefix, []).append(row)
    parts = []
    for prefix, rows in groups.items():
        rows = [r for r in rows if r]
        label = "" if not rows else ("строка " if len(rows) == 1 else "строки ") + ", ".join(rows)
        parts.append((prefix + label).strip(" ,"))
    rest = len(ordered) - _MAX_PLACES
    return "; ".join(parts) + (f" и ещё {rest}" if rest > 0 else "")


def duplicate_pairs(parties: Iterable[Party]) -> list[tuple[Party, Party]]:
    """Each pair that looks like one party under two names. Pairs that both come from the
    directory are left alone: its author already keeps them apart."""
    return [(a, b) for a, b in combinations(list(parties), 2)
            if not (a.given and b.given) and any(probably_same(x, y) for x in a.names for y in b.names)]


def probable_duplicates(parties: Iterable[Party]) -> list[str]:
    """A report line for each pair that looks like one party under two names."""
    return [f"«{a.name}» ({a.id}: {a.where()}) и «{b.name}» ({b.id}: {b.where()})"
            for a, b in duplicate_pairs(parties)]
