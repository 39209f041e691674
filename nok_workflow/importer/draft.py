"""One path for `nok plan import` and the browser's drafts: a read document → the draft (what
was understood, as plain JSON-able data a person may correct) → plan YAML that validates.

Pure: no files, no store, no clock. The draft's shape (`understand` makes it):

    {"meta": {"title", "approval_act", "period", "timezone", "plan_id"},
     "notes": ["строка 12: …", …],          # the table's and the period's doubts
     "rows": [{"key", "section_number", "section_title", "number", "title", "deadline",
               "owners_text", "result", "origin", "section" (its index),
               "owners": None | [ref, …],   # None: resolved from owners_text
               "corrected": [field, …]}],   # what a person changed
     "entries": [{"id", "name", "kind", "email"?}]}  # directory entries a person added
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nok_workflow.deadlines.grammar import normalise
from nok_workflow.importer import form457_draft
from nok_workflow.importer.owners import Resolver, normalise_name
from nok_workflow.importer.people import resolve_people
from nok_workflow.importer.rows import RawDocument, join_fragments
from nok_workflow.importer.similar import Party, duplicate_pairs, probable_duplicates
from nok_workflow.importer.table import structure
from nok_workflow.plan import form457, source
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.problems import InputError, Problem

_YEAR = re.compile(r"(?<!\d)((?:19|20|21)\d\d)(?!\d)")
# «на 2014-2016 годы», «2014 – 2016 гг.», «с 2014 по 2016 год», «2024/2025 учебный год»
_YEAR_RANGE = re.compile(
    r"(?<!\d)((?:19|20|21)\d\d)(?:\s*(?:гг?|год[а-я]*)\.?)?\s*(?:[-–—/]|по)\s*((?:19|20|21)\d\d)(?!\d)")
_MAX_SPAN = 10  # years; a wider «range» is two unrelated dates
_BY_TITLE = "из заголовка"
_BY_DEADLINES = "определён по срокам пунктов — проверьте"
_COORDINATOR = re.compile(r"^(?:отдел|департамент|управлени\w*|комитет|министерств\w*) образовани")
_ACT = re.compile(r"^(?:приложение|утвержден|к протоколу|к приказу|к постановлению)", re.IGNORECASE)
# What to say of the year: `nok plan import` has --year, the upload form a field «Год плана».
NO_YEAR = {True: "в документе не указан год плана: задайте его, например --year 2025",
           False: "в документе не указан год плана: укажите его в поле «Год плана» и загрузите документ ещё раз"}
PERIOD_GUESSED = "период плана определён по срокам пунктов"


@dataclass
class ImportReport:
    rows: int = 0
    sections: int = 0
    notes: list[str] = field(default_factory=list)  # «строка 12: …» — what to check
    created: list[str] = field(default_factory=list)
    similar: list[str] = field(default_factory=list)  # directory entries that may be one party
    warnings: list[str] = field(default_factory=list)  # the new plan's, at their place in it
    outline: list[str] = field(default_factory=list)  # a №457 form's: sections by criterion, measures by shortcoming


@dataclass
class ImportResult:
    text: str
    plan: LoadedPlan
    report: ImportReport


@dataclass
class Directory:
    """Known owners to match against: plain dicts as a plan file has them."""

    directory: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    organisations: list[dict] = field(default_factory=list)
    standalone: list[dict] = field(default_factory=list)  # organisations of no group: a form's plan may name one


@dataclass
class Owners:
    """Every row's owner references, what was guessed on the way, and the resolver's state."""

    refs: dict[str, list[str]]  # row key → references
    notes: dict[str, list[str]]  # row key → guessed splits
    resolver: Resolver
    similar: list[str]
    alike: dict[str, list[str]] = field(default_factory=dict)  # entry id → names it may duplicate


def understand(raw: RawDocument, *, name: str, year: int | None = None, timezone: str = "Europe/Moscow",
               plan_id: str | None = None, cli: bool = True) -> dict[str, Any]:
    """The document as a draft: the plan's title, act, period and every item row as written.
    `name` is the plan file's name the id comes from (its stem, if it is a valid id). A plan in the №457 form: `form457_draft.understand_form`."""
    from nok_workflow.importer import form457_table

    if form457_table.is_form(raw):
        return form457_draft.understand_form(raw, name=name, year=year, timezone=timezone, plan_id=plan_id, cli=cli)
    table = structure(raw)
    notes = [f"{origin}: {note}" for origin, note in table.notes]
    title, act = _title_and_act(raw.preamble)
    rows: list[dict[str, Any]] = []
    for index, section in enumerate(table.sections):
        for item in section.items:
            rows.append({
                "key": f"r{len(rows) + 1}", "section": index, "section_number": section.number, "section_title": section.title,
                "number": item.number, "title": item.text("title"), "deadline": item.text("deadline"),
                "owners_text": item.owners_text, "result": item.text("result"), "origin": item.origin,
                "owners": None, "corrected": [],
            })
    period = _period(title, [r["deadline"] for r in rows], year, raw.source, notes, cli)
    return {
        "meta": {"title": title or "План мероприятий НОК", "approval_act": act, "period": period,
                 "timezone": timezone, "plan_id": plan_id or _plan_id(name, period)},
        "notes": notes, "rows": rows, "entries": [], "next_row": len(rows) + 1,
    }


def resolve_owners(draft: dict[str, Any], known: Directory | None = None) -> Owners:
    """Owner cells → references, row by row in document order (so ids made for new owners are
    the same each time); a row a person corrected keeps the owners they picked."""
    known = known or Directory()
    resolver = Resolver(directory=[dict(e) for e in known.directory] + [dict(e) for e in draft.get("entries", [])],
                        groups=[dict(g) for g in known.groups],
                        organisations=[dict(o) for o in known.organisations])
    refs: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for row in draft["rows"]:
        if row.get("owners") is not None:
            refs[row["key"]] = list(row["owners"])
            notes[row["key"]] = []
            continue
        if row.get("people") is not None:  # the №457 form: people with positions
            refs[row["key"]], notes[row["key"]] = resolve_people(resolver, row["people"], row["origin"])
            continue
        refs[row["key"]], notes[row["key"]] = resolver.resolve(row["owners_text"], row["origin"])
    parties = _parties(resolver)
    alike: dict[str, list[str]] = {}
    for a, b in duplicate_pairs(parties):
        alike.setdefault(a.id, []).append(b.name)
        alike.setdefault(b.id, []).append(a.name)
    return Owners(refs, notes, resolver, probable_duplicates(parties), alike)


def to_plan(draft: dict[str, Any], known: Directory | None = None, *, output_name: str,
            origin: str, schema_ref: str = "plan.schema.json", coordinator: dict | None = None) -> ImportResult:
    """The draft as plan YAML that validates, and the report. `coordinator`: the entry of the
    plan's coordinator (a signed-in login) instead of a guess by name."""
    meta, rows = draft["meta"], draft["rows"]
    owners = resolve_owners(draft, known)
    resolver = owners.resolver
    report = ImportReport(rows=len(rows), sections=len({_section_key(r) for r in rows}))
    report.notes.extend(draft["notes"])
    sections: list[dict] = []
    current: int | None = None
    for row in rows:
        refs = owners.refs[row["key"]]
        report.notes.extend(f"{row['origin']}: {n}" for n in owners.notes[row["key"]])
        if not refs:
            report.notes.append(f"{row['origin']}: у пункта {row['number']} не указаны ответственные")
        before, after = form457_draft.item_fields(row, report)
        item: dict = {"number": row["number"], **before, "title": row["title"] or "(без названия)"}
        if row["deadline"]:
            item["deadline"] = row["deadline"]
        item["owners"] = refs
        if row["result"]:
            item["results"] = [row["result"]]
        item.update(after)
        if _section_key(row) != current:
            current = _section_key(row)
            section: dict = {}
            if row["section_number"]:
                section["number"] = row["section_number"]
            if row.get("criterion"):
                section["criterion"] = row["criterion"]
            section["title"] = row["section_title"]
            section["items"] = []
            sections.append(section)
        sections[-1]["items"].append(item)
    report.created = resolver.created
    report.similar = owners.similar

    used = {o for s in sections for i in s["items"] for o in i["owners"]}
    people = resolver.directory
    if coordinator is not None:
        if not any(e["id"] == coordinator["id"] for e in people):
            people.insert(0, dict(coordinator))
        chosen = coordinator["id"]
    else:
        form = meta.get("kind") == form457.KIND  # a school's people cannot coordinate its plan
        if not people or form and not any(_COORDINATOR.match(normalise_name(e["name"])) for e in people):
            people.insert(0, {"id": "coordinator", "name": "Координатор плана"})
            report.created.append("coordinator: «Координатор плана» — укажите настоящего координатора")
        chosen = "coordinator" if people[0]["id"] == "coordinator" else _coordinator(people, used, report)
    carried = _carry(draft, sections, report)
    groups = [g for g in resolver.groups if "@" + g["id"] in used]
    group_ids = {g["id"] for g in groups}
    plan: dict = {"id": meta["plan_id"], "title": meta["title"]}
    if meta.get("approval_act"):
        plan["approval_act"] = meta["approval_act"]
    plan["period"] = period_of(draft)
    plan["timezone"] = meta["timezone"]
    plan["coordinator"] = chosen
    plan.update(carried)
    plan["directory"] = people
    if groups:
        plan["groups"] = groups
        orgs = [o for o in resolver.organisations if o["group"] in group_ids]
        if orgs:
            plan["organisations"] = orgs
    plan["sections"] = sections
    if meta.get("kind") == form457.KIND:
        plan = form457_draft.complete(plan, draft, known or Directory(), resolver, report, chosen)

    text = (
        f"# yaml-language-server: $schema={schema_ref}\n# {origin}\n"
        + yaml.safe_dump(plan, allow_unicode=True, sort_keys=False, width=100, default_flow_style=None)
    )
    loaded = validate_document(source.parse(text, output_name))
    report.warnings.extend(str(w) for w in loaded.warnings)
    return ImportResult(text, loaded, report)


_MADE = {"id", "title", "approval_act", "period", "timezone", "coordinator", "directory", "groups",
         "organisations", "sections"}
_ITEM_MADE = {"number", "title", "deadline", "owners", "results"}


def carry_over(base: dict[str, Any]) -> str:
    """What the current version of a plan has that its document does not — plan fields (the exact
    period, policies, `approved_by`…), each item's id, dependencies, policies — by section and
    item number, as YAML text (dates stay dates), for an amendment made from a document."""
    plan = {k: v for k, v in base.items() if k not in _MADE}
    plan["period"] = base.get("period")
    items = {}
    for section in base.get("sections") or []:
        for item in section.get("items") or []:
            extra = {k: v for k, v in item.items() if k not in _ITEM_MADE}
            if extra:
                items[_place(section.get("number"), item.get("number"))] = extra
    return yaml.safe_dump({"plan": plan, "items": items}, allow_unicode=True, sort_keys=False)


def _place(section: object, number: object) -> str:
    return re.sub(r"[\s.]", "", str(section or "")) + "|" + re.sub(r"[\s.]", "", str(number or ""))


def _carry(draft: dict[str, Any], sections: list[dict], report: ImportReport) -> dict[str, Any]:
    """Apply `carry_over` to the sections made from the document; the plan fields to add."""
    if not draft.get("carry"):
        return {}
    carry = yaml.safe_load(draft["carry"]) or {}
    names: set[str] = set()
    for section in sections:
        for item in section["items"]:
            sec, num = (re.sub(r"[\s]", "", str(x or "")).rstrip(".") for x in (section.get("number"), item["number"]))
            names |= {num, f"{sec}.{num}" if sec else num}
            item.update(carry.get("items", {}).get(_place(section.get("number"), item["number"]), {}))
            if item.get("id"):
                names.add(item["id"])
    for section in sections:
        for item in section["items"]:
            sec = re.sub(r"\s", "", str(section.get("number") or "")).rstrip(".")
            label = f"{sec}.{item['number'].rstrip('.')}" if sec else item["number"]
            refs = item.pop("depends_on", [])
            kept = [ref for ref in refs if str(ref).strip().rstrip(".") in names]
            if kept:
                item["depends_on"] = kept
            if dropped := [str(ref) for ref in refs if ref not in kept]:
                report.notes.append(f"пункт {label}: зависимость от {', '.join(dropped)} снята — такого "
                                    "пункта в документе нет")
    return {k: v for k, v in (carry.get("plan") or {}).items() if k != "period"}  # the period: period_of


def period_of(draft: dict[str, Any]) -> object:
    """The draft's period: the amended plan's exact one if the document names its years."""
    carried = (yaml.safe_load(draft["carry"]) or {}).get("plan", {}).get("period") if draft.get("carry") else None
    if isinstance(carried, dict) and _years(carried) == _years(draft["meta"]["period"]):
        return carried
    return draft["meta"]["period"]


def _years(period: object) -> tuple[int, int]:
    if isinstance(period, dict):
        start, end = period["start"], period["end"]
        return (getattr(start, "year", start), getattr(end, "year", end))  # type: ignore[return-value]
    return int(period), int(period)  # type: ignore[call-overload]


def _section_key(row: dict) -> int:
    return row["section"]


def _title_and_act(preamble: list[str]) -> tuple[str, str | None]:
    lines = [" ".join(x.split()) for x in preamble if x.strip()]
    start = next((i for i, x in enumerate(lines) if x.lower().startswith("план")), None)
    if start is None:
        return join_fragments(lines), None
    act = join_fragments(lines[:start]) or None
    if act is not None and not _ACT.match(act):
        return join_fragments(lines), None
    return join_fragments(lines[start:]), act


def _period(title: str, deadlines: list[str], year: int | None, file: str, notes: list[str],
            cli: bool) -> object:
    """The document's own years win: a given `year` only fills in a year the document does not
    name (a plan is moved to another year by `nok plan rollover`, not by relabelling it)."""
    found = _document_years(title, deadlines)
    if found is None:
        if year is None:
            raise InputError([Problem(file, 0, 0, NO_YEAR[cli])])
        return year
    (start, end), where = found
    span = str(start) if start == end else f"{start}–{end}"
    if year is not None and (year, year) != (start, end) and not cli:
        notes.append(f"год {year}, указанный при загрузке, не совпадает с периодом документа {span} ({where}): "
                     "взят период документа")
    elif year is not None and (year, year) != (start, end):
        notes.append(f"--year {year} не совпадает с периодом документа {span} ({where}): взят период "
                     "документа; чтобы перенести план на другой год, используйте nok plan rollover")
    elif year is None and where == _BY_TITLE:
        notes.append(f"год плана взят из заголовка: {span}")
    elif year is None:
        notes.append(f"{PERIOD_GUESSED}: {span} — проверьте")
    return start if start == end else {"start": start, "end": end}


def _document_years(title: str, deadlines: list[str]) -> tuple[tuple[int, int], str] | None:
    """(first, last) year of the plan and where they were read: the title, else the deadlines."""
    if span := _title_years(title):
        return span, _BY_TITLE
    years = sorted({int(y) for d in deadlines for y in _YEAR.findall(normalise(d))})
    return ((years[0], years[-1]), _BY_DEADLINES) if years else None


def _title_years(title: str) -> tuple[int, int] | None:
    for m in _YEAR_RANGE.finditer(title):
        start, end = int(m.group(1)), int(m.group(2))
        if 0 < end - start <= _MAX_SPAN:
            return start, end
    if m := _YEAR.search(title):
        return int(m.group(1)), int(m.group(1))
    return None


def _parties(resolver: Resolver) -> list[Party]:
    """Directory entries (not groups) with every name they go by in this import, and where."""
    parties = []
    for entry in resolver.directory:
        written = resolver.seen.get(entry["id"], {})
        places = list(dict.fromkeys(p for origins in written.values() for p in origins if p))
        names = list(dict.fromkeys([entry["name"], *entry.get("aliases", []), *written]))
        parties.append(Party(entry["id"], entry["name"], names, places, entry["id"] in resolver.given))
    return parties


def _coordinator(people: list[dict], used: set[str], report: ImportReport) -> str:
    for entry in people:
        if _COORDINATOR.match(normalise_name(entry["name"])):
            return entry["id"]
    chosen = next((e["id"] for e in people if e["id"] in used), people[0]["id"])
    report.notes.append(f"координатор плана не найден по названию; назначен «{chosen}» — проверьте")
    return chosen


def _plan_id(output_name: str, period: object) -> str:
    stem = Path(output_name).stem.lower()
    if re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", stem):
        return stem
    year = period if isinstance(period, int) else period["start"]  # type: ignore[index]
    return f"plan-{year}"
