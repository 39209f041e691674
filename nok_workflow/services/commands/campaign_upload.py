"""Many plan documents at once into a campaign: several files of one form post, or a .zip of
them. Each document becomes a draft of the campaign, reviewed like any browser import
(`drafts`); a file that cannot be one gets its own reason while the others go on. A zip is
checked before it is opened (`importer/archive.py` limits); a zip inside it is refused, not
opened. Each document is parsed as `drafts.read` parses one (the readers' own limits), and
all are stored together: a refused file leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from slugify import slugify
from sqlalchemy import Engine
from sqlmodel import Session

from nok_workflow import filekinds
from nok_workflow.importer.archive import MAX_RATIO, MAX_UNCOMPRESSED, ZIP_ERRORS
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import drafts
from nok_workflow.services.read.campaigns import owned_campaign

MAX_DOCUMENTS = 300  # files of one upload, a zip's members counted
NESTED = "вложенный архив не открывается — распакуйте его и загрузите документы из него отдельно"


@dataclass(frozen=True)
class Outcome:
    name: str  # the file's name (a zip member's as «архив.zip / школа.docx»)
    draft_id: str | None = None
    reason: str | None = None  # why it is not a draft


def upload(engine: Engine, *, owner: str, campaign_id: str, files: list[tuple[str, bytes]], now: dt.datetime,
           year: int | None = None) -> list[Outcome]:
    """Every document of `files` (name, content) as a draft of the campaign, or its reason; in order."""
    with Session(engine) as session:
        owned_campaign(session, campaign_id, owner)
    files = [(name, data) for name, data in files if name or data]
    if not files:
        raise InputError([Problem("files", 0, 0, "не выбрано ни одного файла: выберите документы планов или "
                                                 ".zip-архив с ними")])
    documents: list[tuple[str, bytes]] = []
    outcomes: list[Outcome | int] = []  # a refusal, or the index of a document to read
    for name, data in files:
        for entry in _expand(name, data):
            if isinstance(entry, Outcome):
                outcomes.append(entry)
            else:
                outcomes.append(len(documents))
                documents.append(entry)
    if len(documents) > MAX_DOCUMENTS:
        raise InputError([Problem("files", 0, 0, f"документов в загрузке {len(documents)}, а можно не больше "
                                                 f"{MAX_DOCUMENTS}: разделите их на несколько загрузок")])
    read: list[tuple[str, dict] | InputError] = []
    ids = _plan_ids(campaign_id, [name for name, _ in documents])
    for (name, data), plan_id in zip(documents, ids, strict=True):
        try:
            read.append((name, drafts.read(PurePosixPath(name).name, data, year=year, plan_id=plan_id)))
        except InputError as exc:  # as the single upload says it: what the file is, what to do
            read.append(InputError([Problem(p.file, p.line, p.column, "не удалось прочитать как план: " + p.message)
                                    for p in exc.problems[:1]] + exc.problems[1:]))
    good = [r for r in read if not isinstance(r, InputError)]
    stored = iter(drafts.store(engine, owner=owner, documents=good, now=now, campaign_id=campaign_id))
    results = [r if isinstance(r, InputError) else next(stored) for r in read]
    return [o if isinstance(o, Outcome) else _outcome(documents[o][0], results[o]) for o in outcomes]


def _plan_ids(campaign_id: str, names: list[str]) -> list[str]:
    """Each document's plan id: the campaign's and the file's name, transliterated («НОК 2024»,
    «СОШ 5.docx» → nok-2024-sosh-5), unique in the upload. The same file uploaded again gets the
    same id: its draft is a new redaction of the plan made from it before."""
    taken: set[str] = set()
    ids = []
    for name in names:
        stem = slugify(PurePosixPath(name).stem, max_length=40, word_boundary=True) or "plan"
        base = f"{campaign_id[:20].rstrip('-')}-{stem}"
        plan_id, n = base, 2
        while plan_id in taken:
            plan_id, n = f"{base}-{n}", n + 1
        taken.add(plan_id)
        ids.append(plan_id)
    return ids


def _outcome(name: str, result: str | InputError) -> Outcome:
    if isinstance(result, InputError):
        return Outcome(name, reason="; ".join((f"строка {p.line}: " if p.line else "") + p.message
                                              for p in result.problems))
    return Outcome(name, draft_id=result)


def _expand(name: str, data: bytes) -> list[Outcome | tuple[str, bytes]]:
    """A file as the documents in it: itself, or a plain zip's members (checked before opening)."""
    if not _plain_zip(data):
        return [(name, data)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and not _junk(i.filename)]
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
                return [Outcome(name, reason=f"архив распаковывается в {total // 2**20} МБ — слишком много для "
                                             "документов планов; архив отклонён")]
            if not infos:
                return [Outcome(name, reason="в архиве нет файлов")]
            if len(infos) > MAX_DOCUMENTS:
                return [Outcome(name, reason=f"в архиве {len(infos)} файлов, а можно не больше {MAX_DOCUMENTS}")]
            found: list[Outcome | tuple[str, bytes]] = []
            for info in infos:
                member = f"{name} / {_member_name(info)}"
                if info.file_size > drafts.MAX_DOCUMENT_BYTES:
                    found.append(Outcome(member, reason=f"файл больше {drafts.MAX_DOCUMENT_BYTES // 2**20} МБ — "
                                                        "это не план"))
                    continue
                content = archive.read(info)
                if info.filename.lower().endswith(".zip") or _plain_zip(content):
                    found.append(Outcome(member, reason=NESTED))
                else:
                    found.append((member, content))
            return found
    except ZIP_ERRORS:
        return [Outcome(name, reason="архив повреждён и не читается")]


def _plain_zip(data: bytes) -> bool:
    """A zip that is a folder of files, not an office document (.docx, .xlsx, .odt are zips too)."""
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except ZIP_ERRORS:
        return False  # a damaged file: the reader says what it is
    return (filekinds.main_part(names) is None and filekinds.MIMETYPE not in names
            and not any(n.startswith("word/") for n in names))


def _junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" or p.startswith(".") for p in parts) or parts[-1].lower() == "thumbs.db"


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as it was written: Windows archivers store Russian names in CP866."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("cp866")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name
