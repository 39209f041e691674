"""Owner cells → directory ids: split, match a directory, recognise classes of organisations.

`Отдел образования, МКУ «ИМЦ»` is two owners (commas outside «quotes»); `Образовательные
учреждения` is every school of the list, each answering for itself (an `@group`);
`Муниципальные образовательные организации Департамент образования` has no comma at
all — it is split by a guess, and the guess is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slugify import slugify

from nok_workflow.importer.rows import join_fragments

_CLASSES = (
    ("mouo", re.compile(
        r"(?:руководител\w*\s+)?(?:муниципальн\w*\s+)?орган\w*\s+(?:местного самоуправления,?\s+)?"
        r"(?:осуществляющ\w*\s+)?управлени\w*\s+(?:в сфере\s+)?образовани\w*|моуо")),
    ("ou", re.compile(
        r"(?:руководител\w*\s+)?(?:все\s+|муниципальн\w*\s+|подведомственн\w*\s+)?(?:обще)?"
        r"образовательн\w*\s+(?:учреждени|организаци)(?:я|и|й|ями)|руководител\w*\s+(?:оо|оу|моу)|оо|оу")),
)
_UNIT_WORDS = re.compile(
    r"^(?:департамент|отдел|управлени|комитет|министерств|администраци|общественн\w* совет"
    r"|организаци\w*-оператор|оператор|мку|мбу|мау|мбоу|маоу|гау|огау|гбу|гку|городск|муниципальн)"
)
_PERSON = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.?|[А-ЯЁ]\.\s?[А-ЯЁ]\.\s?[А-ЯЁ][а-яё]+")


def normalise_name(name: str) -> str:
    """The key names are matched by: no case, ё, quotes (`"ИМЦ"` is «ИМЦ»), spaces at a hyphen."""
    s = name.lower().replace("ё", "е")
    s = re.sub(r"[\"'«»“”„‘’]", "", s)
    s = re.sub(r"\s*-\s*", "-", s)
    return " ".join(s.split()).strip(" .,;:")


def split_cell(cell: str) -> list[str]:
    """Owners in a cell: paragraphs, lines starting with a capital, commas outside quotes."""
    owners: list[str] = []
    for paragraph in re.split(r"\n\s*\n", cell):
        current = ""
        for line in (x.strip() for x in paragraph.split("\n")):
            if not line:
                continue
            if current and line[:1].isupper():
                owners.extend(_split_commas(current))
                current = line
            else:
                current = join_fragments([current, line])
        if current:
            owners.extend(_split_commas(current))
    return [o for o in owners if o]


def _split_commas(text: str) -> list[str]:
    parts, current, depth = [], "", 0
    for char in text:
        if char in "«(":
            depth += 1
        elif char in "»)":
            depth = max(0, depth - 1)
        if char in ",;" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [_tidy(p) for p in parts if p.strip(" .")]


def _tidy(part: str) -> str:
    """Collapse spaces; drop a sentence's final dot but keep an initial's (`Новикова И.В.`)."""
    part = " ".join(part.split())
    return part if re.search(r"(?:^|[\s.])\w\.$", part) else part.rstrip(" .")


@dataclass
class Resolver:
    """Matches owner names to a directory, creating entries and groups for the rest."""

    directory: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    organisations: list[dict] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    # directory id → name as written → where in the document (for the «same party?» report)
    seen: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    _index: dict[str, str] = field(default_factory=dict)
    _class_group: dict[str, str] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)  # ids that came from --directory

    def __post_init__(self) -> None:
        self.given = {e["id"] for e in self.directory}
        for entry in self.directory:
            for name in [entry["name"], *entry.get("aliases", [])]:
                self._index.setdefault(normalise_name(name), entry["id"])
        for group in self.groups:
            for name in [group["name"], *group.get("aliases", [])]:
                self._index.setdefault(normalise_name(name), "@" + group["id"])
                if kind := _class_of(name):
                    self._class_group.setdefault(kind, group["id"])

    def resolve(self, cell: str, origin: str = "") -> tuple[list[str], list[str]]:
        """Owner references for a cell, and notes on what was guessed."""
        refs, notes = [], []
        for name in self._rejoin(split_cell(cell)):
            parts = [name]
            if not self._known(name) and (guess := self._guess_split(name)):
                parts = guess
                notes.append(f"ячейка «{name}» без запятой разделена по догадке: "
                             + " | ".join(guess) + " — проверьте")
            for part in parts:
                ref = self._reference(part)
                self._remember(ref, part, origin)
                if ref not in refs:
                    refs.append(ref)
        return refs, notes

    def lookup(self, name: str) -> str | None:
        """The reference a name (or an alias) is known by, if any."""
        return self._index.get(normalise_name(name))

    def add(self, base_id: str, entry: dict, origin: str, note: str) -> str:
        """A new directory entry (its id `base_id`, -2, -3… if taken), known by its name from now on."""
        entry = {"id": self._new_id(base_id), **entry}
        self.directory.append(entry)
        self._index[normalise_name(entry["name"])] = entry["id"]
        self.created.append(f"{entry['id']}: {note}")
        self._remember(entry["id"], entry["name"], origin)
        return entry["id"]

    def _rejoin(self, names: list[str]) -> list[str]:
        """Lines split at a capital that together are one known name (`Организация-оператор` /
        `ОГАУ «УО ЦСНК»` wrapped in a PDF's narrow column) are that name again."""
        joined: list[str] = []
        for name in names:
            if joined and not (self._known(joined[-1]) and self._known(name)) and self._known(f"{joined[-1]} {name}"):
                joined[-1] = f"{joined[-1]} {name}"
            else:
                joined.append(name)
        return joined

    def _remember(self, ref: str, name: str, origin: str) -> None:
        origins = self.seen.setdefault(ref, {}).setdefault(_display(name), [])
        if origin not in origins:
            origins.append(origin)

    def _known(self, name: str) -> bool:
        return normalise_name(name) in self._index or _class_of(name) is not None

    def _looks_like_owner(self, name: str) -> bool:
        return self._known(name) or bool(_UNIT_WORDS.match(normalise_name(name))) or bool(
            _PERSON.fullmatch(name.strip()))

    def _guess_split(self, name: str) -> list[str] | None:
        words = name.split()
        for i in range(1, len(words)):
            left, right = " ".join(words[:i]), " ".join(words[i:])
            if right[:2].isupper():
                continue  # `Организация-оператор ОГАУ «УО ЦСНК»`: an abbreviation names the left part
            if right[:1].isupper() and self._known(left) and self._looks_like_owner(right):
                return [left, right]
            if right[:1].isupper() and self._looks_like_owner(left) and self._known(right):
                return [left, right]
        return None

    def _reference(self, name: str) -> str:
        key = normalise_name(name)
        if key in self._index:
            return self._index[key]
        if kind := _class_of(name):
            group_id = self._class_group.get(kind)
            if group_id is None:
                group_id = self._new_id(kind)
                self.groups.append({"id": group_id, "name": _display(name)})
                self._class_group[kind] = group_id
                self.created.append(f"группа @{group_id}: «{_display(name)}» (каждая организация "
                                    "отвечает за себя; перечень организаций нужно добавить)")
            else:
                group = next(g for g in self.groups if g["id"] == group_id)
                group.setdefault("aliases", []).append(name)
            self._index[key] = "@" + group_id
            return "@" + group_id
        entry_id = self._new_id(slugify(name, max_length=40, word_boundary=True) or "owner")
        entry = {"id": entry_id, "name": _display(name)}
        if _PERSON.fullmatch(name.strip()):
            entry["kind"] = "person"
        self.directory.append(entry)
        self._index[key] = entry_id
        self.created.append(f"{entry_id}: «{entry['name']}» (без адреса почты)")
        return entry_id

    def _new_id(self, base: str) -> str:
        taken = {e["id"] for e in self.directory} | {g["id"] for g in self.groups} | {
            o["id"] for o in self.organisations}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate


def _class_of(name: str) -> str | None:
    key = normalise_name(name)
    return next((kind for kind, pattern in _CLASSES if pattern.fullmatch(key)), None)


def _display(name: str) -> str:
    name = " ".join(name.split())
    return name[:1].upper() + name[1:]
