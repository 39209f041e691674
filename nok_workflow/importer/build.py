"""The import service: document → plan YAML that validates, plus a report for a human."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from nok_workflow.deadlines.grammar import normalise
from nok_workflow.filekinds import ODT
from nok_workflow.importer import sniff
from nok_workflow.importer.owners import Resolver, normalise_name
from nok_workflow.importer.rows import RawDocument, join_fragments
from nok_workflow.importer.similar import Party, probable_duplicates
from nok_workflow.importer.table import RawTable, structure
from nok_workflow.plan import source
from nok_workflow.plan.schema import DirectoryEntry, Group, Organisation
from nok_workflow.plan.validate import LoadedPlan, schema_problems, validate_document
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


@dataclass
class ImportReport:
    rows: int = 0
    sections: int = 0
    notes: list[str] = field(default_factory=list)  # «строка 12: …» — what to check
    created: list[str] = field(default_factory=list)
    similar: list[str] = field(default_factory=list)  # directory entries that may be one party
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
    head = _head(path)
    foreign = (sniff.Foreign("это PDF", "") if sniff.is_pdf(head) else sniff.describe(path, head)) or (
        sniff.name_zip(head) if head.startswith(sniff.ZIP_SIGNATURE) else None)
    if foreign is not None:
        raise InputError([Problem(str(path), 0, 0, f"{foreign.what}: справочник — это YAML-файл "
                                                    "(план или списки directory, groups, organisations)")])
    doc = source.load(path)
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "ожидается YAML со списками directory, groups, organisations")])
    try:
        return _DirectoryFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(schema_problems(doc, exc.errors())) from None


def _head(path: Path) -> bytes:
    """The first bytes, to tell the kind of file by content; a clear error if there are none."""
    try:
        with path.open("rb") as handle:
            head = handle.read(sniff.HEAD_BYTES)
    except FileNotFoundError:
        raise InputError([Problem(str(path), 0, 0, "файл не найден")]) from None
    except IsADirectoryError:
        raise InputError([Problem(str(path), 0, 0, "это каталог, а не файл")]) from None
    except PermissionError:
        raise InputError([Problem(str(path), 0, 0, "нет прав на чтение файла")]) from None
    if not head:
        raise InputError([Problem(str(path), 0, 0, "файл пуст")])
    return head


def read_document(path: Path) -> RawDocument:
    """Pick the reader by content, not by name: a PDF, a zip that is a .docx, .odt, .xlsx or
    .ods, CSV or plain text; anything else (scan, .doc, .xls…) is refused with what it is."""
    from nok_workflow.importer.docx_reader import read_docx
    from nok_workflow.importer.text_reader import read_text

    head = _head(path)
    if sniff.is_pdf(head):
        from nok_workflow.importer.pdf_reader import read_pdf

        return read_pdf(path)
    if foreign := sniff.describe(path, head):
        raise InputError([Problem(str(path), 0, 0, sniff.message(foreign))])
    if head.startswith(sniff.ZIP_SIGNATURE):
        kind = _zip_kind(path)
        if kind == ODT:
            from nok_workflow.importer.odt_reader import read_odt

            return read_odt(path)
        if kind is not None:
            from nok_workflow.importer.sheet_reader import read_sheet_plan

            return read_sheet_plan(path)
        return read_docx(path)
    from nok_workflow.importer.sheet_reader import is_csv, read_sheet_plan

    if is_csv(head, path):
        return read_sheet_plan(path)
    return read_text(source.read_text(path), str(path))


def _zip_kind(path: Path) -> str | None:
    """XLSX, ODS, ODT, or None for a .docx or a damaged zip (`read_docx` names what it is)."""
    import zipfile

    from nok_workflow.importer.archive import ZIP_ERRORS

    try:
        with zipfile.ZipFile(path) as archive:
            return sniff.zip_kind(archive)
    except (*ZIP_ERRORS, KeyError):
        return None


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
            owners, notes = resolver.resolve(raw_item.owners_text, raw_item.origin)
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
    report.similar = probable_duplicates(_parties(resolver))

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
    """The document's own years win: `--year` only fills in a year the document does not name
    (a plan is moved to another year by `nok plan rollover`, not by relabelling it)."""
    found = _document_years(title, table)
    if found is None:
        if year is None:
            raise InputError([Problem(file, 0, 0, "в документе не указан год плана: задайте его, "
                                                   "например --year 2025")])
        return year
    (start, end), where = found
    span = str(start) if start == end else f"{start}–{end}"
    if year is not None and (year, year) != (start, end):
        report.notes.append(f"--year {year} не совпадает с периодом документа {span} ({where}): взят период "
                            "документа; чтобы перенести план на другой год, используйте nok plan rollover")
    elif year is None and where == _BY_TITLE:
        report.notes.append(f"год плана взят из заголовка: {span}")
    elif year is None:
        report.notes.append(f"период плана определён по срокам пунктов: {span} — проверьте")
    return start if start == end else {"start": start, "end": end}


def _document_years(title: str, table: RawTable) -> tuple[tuple[int, int], str] | None:
    """(first, last) year of the plan and where they were read: the title, else the deadlines."""
    if span := _title_years(title):
        return span, _BY_TITLE
    years = sorted({
        int(y)
        for s in table.sections for i in s.items
        for y in _YEAR.findall(normalise(i.text("deadline")))
    })
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
