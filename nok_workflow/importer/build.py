"""The import service: document → plan YAML that validates, plus a report for a human."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from nok_workflow.deadlines.grammar import normalise
from nok_workflow.importer.owners import Resolver, normalise_name
from nok_workflow.importer.rows import RawDocument, join_fragments
from nok_workflow.importer.table import RawTable, structure
from nok_workflow.plan import source
from nok_workflow.plan.schema import DirectoryEntry, Group, Organisation
from nok_workflow.plan.validate import LoadedPlan, schema_problems, validate_document
from nok_workflow.problems import InputError, Problem

_YEAR = re.compile(r"(?<!\d)((?:19|20|21)\d\d)(?!\d)")
_COORDINATOR = re.compile(r"^(?:отдел|департамент|управлени\w*|комитет|министерств\w*) образовани")
_ACT = re.compile(r"^(?:приложение|утвержден|к протоколу|к приказу|к постановлению)", re.IGNORECASE)


@dataclass
class ImportReport:
    rows: int = 0
    sections: int = 0
    notes: list[str] = field(default_factory=list)  # «строка 12: …» — what to check
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the new plan's, at their place in it


@dataclass
class ImportResult:
    text: str
    plan: LoadedPlan
    report: ImportReport


class _DirectoryFile(BaseModel):
    """A directory to match owners against: a plan file or just these three lists."""

    model_config = ConfigDict(extra="ignore")
    directory: list[DirectoryEntry] = []
    groups: list[Group] = []
    organisations: list[Organisation] = []


def load_directory(path: Path) -> _DirectoryFile:
    doc = source.load(path)
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "ожидается YAML со списками directory, groups, organisations")])
    try:
        return _DirectoryFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(schema_problems(doc, exc.errors())) from None


def read_document(path: Path) -> RawDocument:
    """Pick the reader by content, not by name: a zip is a .docx, anything else is text."""
    from nok_workflow.importer.docx_reader import OLE_SIGNATURE, read_docx
    from nok_workflow.importer.text_reader import read_text

    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise InputError([Problem(str(path), 0, 0, "файл не найден")]) from None
    except IsADirectoryError:
        raise InputError([Problem(str(path), 0, 0, "это каталог, а не файл")]) from None
    if not head:
        raise InputError([Problem(str(path), 0, 0, "файл пуст")])
    if head.startswith(b"PK") or head.startswith(OLE_SIGNATURE):
        return read_docx(path)
    return read_text(source.read_text(path), str(path))


def import_plan(
    path: Path,
    *,
    output_name: str,
    year: int | None = None,
    directory: _DirectoryFile | None = None,
    timezone: str = "Europe/Moscow",
    plan_id: str | None = None,
    schema_ref: str = "plan.schema.json",
) -> ImportResult:
    raw = read_document(path)
    table = structure(raw)
    report = ImportReport(rows=sum(len(s.items) for s in table.sections), sections=len(table.sections))
    report.notes.extend(f"{origin}: {note}" for origin, note in table.notes)

    title, act = _title_and_act(raw.preamble)
    period = _period(title, table, year, str(path), report)
    resolver = Resolver(
        directory=[e.model_dump(exclude_defaults=True) for e in directory.directory] if directory else [],
        groups=[g.model_dump(exclude_defaults=True) for g in directory.groups] if directory else [],
        organisations=[o.model_dump(exclude_defaults=True) for o in directory.organisations] if directory else [],
    )
    sections = []
    for raw_section in table.sections:
        items = []
        for raw_item in raw_section.items:
            owners, notes = resolver.resolve(raw_item.owners_text)
            report.notes.extend(f"{raw_item.origin}: {n}" for n in notes)
            if not owners:
                report.notes.append(f"{raw_item.origin}: у пункта {raw_item.number} не указаны ответственные")
            item: dict = {"number": raw_item.number, "title": raw_item.text("title") or "(без названия)"}
            if deadline := raw_item.text("deadline"):
                item["deadline"] = deadline
            item["owners"] = owners
            if result := raw_item.text("result"):
                item["results"] = [result]
            items.append(item)
        section: dict = {}
        if raw_section.number:
            section["number"] = raw_section.number
        section["title"] = raw_section.title
        section["items"] = items
        sections.append(section)
    report.created = resolver.created

    used = {o for s in sections for i in s["items"] for o in i["owners"]}
    people = resolver.directory
    if not people:
        people.append({"id": "coordinator", "name": "Координатор плана"})
        report.created.append("coordinator: «Координатор плана» — укажите настоящего координатора")
    coordinator = _coordinator(people, used, report)
    groups = [g for g in resolver.groups if "@" + g["id"] in used]
    group_ids = {g["id"] for g in groups}
    plan: dict = {"id": plan_id or _plan_id(output_name, period), "title": title or "План мероприятий НОК"}
    if act:
        plan["approval_act"] = act
    plan["period"] = period
    plan["timezone"] = timezone
    plan["coordinator"] = coordinator
    plan["directory"] = people
    if groups:
        plan["groups"] = groups
        orgs = [o for o in resolver.organisations if o["group"] in group_ids]
        if orgs:
            plan["organisations"] = orgs
    plan["sections"] = sections

    text = (
        f"# yaml-language-server: $schema={schema_ref}\n"
        f"# Импортировано из {path.name} командой `nok plan import`; сверьте с документом.\n"
        + yaml.safe_dump(plan, allow_unicode=True, sort_keys=False, width=100, default_flow_style=None)
    )
    try:
        loaded = validate_document(source.parse(text, output_name))
    except InputError as exc:
        raise InputError([Problem(str(path), 0, 0, "импорт дал план, который не проходит проверку:"),
                          *exc.problems]) from None
    report.warnings.extend(str(w) for w in loaded.warnings)
    return ImportResult(text, loaded, report)


def _title_and_act(preamble: list[str]) -> tuple[str, str | None]:
    lines = [" ".join(x.split()) for x in preamble if x.strip()]
    start = next((i for i, x in enumerate(lines) if x.lower().startswith("план")), None)
    if start is None:
        return join_fragments(lines), None
    act = join_fragments(lines[:start]) or None
    if act is not None and not _ACT.match(act):
        return join_fragments(lines), None
    return join_fragments(lines[start:]), act


def _period(title: str, table: RawTable, year: int | None, file: str, report: ImportReport) -> object:
    if year is not None:
        return year
    if m := _YEAR.search(title):
        report.notes.append(f"год плана взят из заголовка: {m.group(1)}")
        return int(m.group(1))
    years = sorted({
        int(y)
        for s in table.sections for i in s.items
        for y in _YEAR.findall(normalise(i.text("deadline")))
    })
    if not years:
        raise InputError([Problem(file, 0, 0, "в документе не указан год плана: задайте его, "
                                               "например --year 2025")])
    report.notes.append(f"период плана определён по срокам пунктов: {years[0]}–{years[-1]} — проверьте")
    return years[0] if years[0] == years[-1] else {"start": years[0], "end": years[-1]}


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
