"""The import service: document → plan YAML that validates, plus a report for a human."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from nok_workflow.importer import sniff
from nok_workflow.importer.draft import Directory, ImportReport, ImportResult, to_plan, understand
from nok_workflow.importer.rows import RawDocument
from nok_workflow.plan import source
from nok_workflow.plan.schema import DirectoryEntry, Group, Organisation
from nok_workflow.plan.validate import schema_problems
from nok_workflow.problems import InputError, Problem

__all__ = ["DirectoryFile", "ImportReport", "ImportResult", "import_plan", "load_directory", "read_document"]


class _DirectoryFile(BaseModel):
    """A directory to match owners against: a plan file or just these three lists."""

    model_config = ConfigDict(extra="ignore")
    directory: list[DirectoryEntry] = []
    groups: list[Group] = []
    organisations: list[Organisation] = []


DirectoryFile = _DirectoryFile


def load_directory(path: Path) -> _DirectoryFile:
    head = _head(path)
    foreign = sniff.describe(path, head) or (sniff.name_zip(head) if head.startswith(sniff.ZIP_SIGNATURE) else None)
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
    """Pick the reader by content, not by name: a zip may be a .docx, plain text is text, and
    anything else (PDF, scan, .doc, .xlsx…) is refused with what it is."""
    from nok_workflow.importer.docx_reader import read_docx
    from nok_workflow.importer.text_reader import read_text

    head = _head(path)
    if foreign := sniff.describe(path, head):
        raise InputError([Problem(str(path), 0, 0, sniff.message(foreign))])
    if head.startswith(sniff.ZIP_SIGNATURE):
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
    draft = understand(read_document(path), name=output_name, year=year, timezone=timezone, plan_id=plan_id)
    known = Directory(
        directory=[e.model_dump(exclude_defaults=True) for e in directory.directory] if directory else [],
        groups=[g.model_dump(exclude_defaults=True) for g in directory.groups] if directory else [],
        organisations=[o.model_dump(exclude_defaults=True) for o in directory.organisations] if directory else [],
    )
    origin = f"Импортировано из {path.name} командой `nok plan import`; сверьте с документом."
    try:
        return to_plan(draft, known, output_name=output_name, origin=origin, schema_ref=schema_ref)
    except InputError as exc:
        raise InputError([Problem(str(path), 0, 0, "импорт дал план, который не проходит проверку:"),
                          *exc.problems]) from None
