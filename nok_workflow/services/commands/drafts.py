"""Plan drafts: a document uploaded in the browser (or the API) becomes a draft; the coordinator
corrects its rows (wording, owners, title, a row split in two); applying makes it a plan, or
an amendment of the plan of that id, through `plans.load` — nothing is loaded before that."""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slugify import slugify
from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session

from nok_workflow.importer.build import DirectoryFile, read_document
from nok_workflow.importer.draft import Directory, carry_over, resolve_owners, understand
from nok_workflow.importer.form457_draft import settle_plan_id
from nok_workflow.plan import source
from nok_workflow.plan.validate import LoadedPlan
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import plans
from nok_workflow.services.read.directory import as_plan_lists
from nok_workflow.services.read.drafts import (
    DAYS_KEPT,
    DraftApplied,
    VersionChanged,
    build_plan,
    fetch,
    known,
)
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Account, Plan, PlanDraft, PlanVersion

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KINDS = {"unit": "отдел или организация", "person": "человек"}


@dataclass
class Preview:
    diff: plans.PlanDiff
    loaded: LoadedPlan
    text: str


def create(engine: Engine, *, owner: str, name: str, data: bytes, now: dt.datetime,
           year: int | None = None, timezone: str = "Europe/Moscow", campaign_id: str | None = None) -> str:
    """Read the document into a new draft of `owner` (in the campaign, if given); the file is gone once read."""
    made = store(engine, owner=owner, documents=[(name, read(name, data, year=year, timezone=timezone))],
                 now=now, campaign_id=campaign_id)[0]
    if isinstance(made, InputError):
        raise made
    return made


def read(name: str, data: bytes, *, year: int | None = None, timezone: str = "Europe/Moscow",
         plan_id: str | None = None) -> dict[str, Any]:
    """What a document says, as a draft's content (no store): InputError if it is not a plan.
    The plan's id: `plan_id`, or one from the file's name."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError([Problem(name, 0, 0, f"файл больше {MAX_DOCUMENT_BYTES // 2**20} МБ — это не план")])
    with tempfile.TemporaryDirectory(prefix="nok-draft-") as folder:
        path = Path(folder) / ("document" + re.sub(r"[^\w.]", "", Path(name).suffix)[:8])
        path.write_bytes(data)
        raw = read_document(path)
        raw.source = name
        return understand(raw, name=name, year=year, timezone=timezone, plan_id=plan_id, cli=False)


def store(engine: Engine, *, owner: str, documents: list[tuple[str, dict[str, Any]]], now: dt.datetime,
          campaign_id: str | None = None) -> list[str | InputError]:
    """Documents read (`read`) as drafts of `owner`, written together: per document its draft id,
    or why it cannot be one (the plan of that id is another's). The owner's plans are read once."""
    made: list[str | InputError] = []
    drafts = []
    with Session(engine) as session:
        ids = list(session.execute(select(Plan.id).where(Plan.coordinator == owner).order_by(Plan.id)).scalars())
        plans_data = {pid: _current(session, pid) for pid in ids}
        lists = {pid: _lists(data) for pid, data in plans_data.items()}
        directory_lists = as_plan_lists(session, owner)
        own_lists = _lists(directory_lists)
        account = session.get(Account, owner)
        for name, content in documents:
            settle_plan_id(content, Directory(**directory_lists))  # a №457 form's id names its organisation
            plan_id = content["meta"]["plan_id"]
            existing = session.get(Plan, plan_id)
            if existing is not None and existing.coordinator != owner:
                made.append(InputError([Problem(name, 0, 0, f"план «{plan_id}» (id взят из имени файла) уже ведёт "
                                                            f"другой координатор, «{existing.coordinator}»: "
                                                            "переименуйте файл документа и загрузите его ещё раз")]))
                continue
            if existing is not None:
                content["meta"]["timezone"] = existing.timezone
            # The plans' own entries first (the plan amended first), then the coordinator's directory.
            content["known"] = _directory([lists.get(plan_id), *(v for k, v in lists.items() if k != plan_id),
                                           own_lists])
            content["known"]["standalone"] = directory_lists["standalone"]  # a №457 form's organisation
            if isinstance(plans_data.get(plan_id), dict):  # an amendment keeps what the document does not say
                content["carry"] = carry_over(plans_data[plan_id])
            _coordinator_entry(content, owner, account)
            draft_id = secrets.token_urlsafe(18)
            drafts.append(PlanDraft(id=draft_id, owner=owner, created_at=now,
                                    expires_at=now + dt.timedelta(days=DAYS_KEPT), source_name=name, content=content,
                                    base_version=existing.current_version if existing is not None else 0,
                                    campaign_id=campaign_id))
            made.append(draft_id)
    with write_session(engine) as session:
        # Expired drafts go when a new one comes: what was read from a document lasts a week.
        session.execute(delete(PlanDraft).where(PlanDraft.state == "open", PlanDraft.expires_at < now))
        session.add_all(drafts)
    return made


def _coordinator_entry(content: dict[str, Any], owner: str, account: Account | None) -> None:
    # The coordinator is an entry of the plan too (escalations reach them): with their address.
    owner_name = account.name if account is not None else owner
    owner_email = account.email if account is not None else None
    content["coordinator"] = {"id": owner, "name": owner_name, **({"email": owner_email} if owner_email else {})}
    if not any(e["id"] == owner for e in content["known"]["directory"]):  # the coordinator may own items
        content["known"]["directory"].insert(0, dict(content["coordinator"]))


def _current(session: Session, plan_id: str) -> Any:
    """The plan's current version as YAML data (None if it cannot be read)."""
    text = session.execute(select(PlanVersion.source_text).join(Plan, Plan.id == PlanVersion.plan_id).where(
        PlanVersion.plan_id == plan_id, PlanVersion.version == Plan.current_version)).scalar()
    try:
        return source.parse(text, plan_id).data if text else None
    except InputError:
        return None


def _directory(plans_data: Iterable[Any]) -> dict[str, list[dict]]:
    """The owner's plans' directories (the plan being amended first), so known owners match:
    with groups, organisations and aliases; an id keeps its first entry."""
    found: dict[str, dict[str, dict]] = {"directory": {}, "groups": {}, "organisations": {}}
    for data in plans_data:
        lists = data if isinstance(data, DirectoryFile) or data is None else _lists(data)
        if lists is None:
            continue
        for kind in found:
            for entry in getattr(lists, kind):
                found[kind].setdefault(entry.id, entry.model_dump(exclude_defaults=True))
    return {kind: list(entries.values()) for kind, entries in found.items()}


def _lists(data: Any) -> DirectoryFile | None:
    try:
        return DirectoryFile.model_validate(data)
    except ValueError:
        return None


def edit_row(engine: Engine, draft_id: str, *, owner: str, now: dt.datetime, row: str,
             title: str | None = None, deadline: str | None = None, owners: list[str] | None = None,
             new_owner: dict[str, str] | None = None,
             split: tuple[str, str, str] | None = None) -> None:
    """One correction of one row: its title, deadline wording, owners (picked, or a new entry
    added), or a split in two (first title, second title, second number)."""
    with write_session(engine) as session:
        draft = _open_draft(session, draft_id, owner, now)
        content: dict[str, Any] = _copy(draft.content)
        target = next((r for r in content["rows"] if r["key"] == row), None)
        if target is None:
            raise InputError([Problem("row", 0, 0, f"в черновике нет строки «{row}»")])
        where = f"{target['origin']}, пункт {target['number']}"
        if title is not None:
            target["title"] = _required(title, where, "название пункта")
            _mark(target, "title")
        if deadline is not None:
            target["deadline"] = " ".join(deadline.split())[:500]
            _mark(target, "deadline")
        if owners is not None or new_owner is not None:
            refs = list(owners or [])
            if new_owner is not None:
                refs.append(_add_entry(content, new_owner, where))
            _check_refs(content, refs, where)
            target["owners"] = list(dict.fromkeys(refs))
            _mark(target, "owners")
        if split is not None:
            first, second, number = split
            target["title"] = _required(first, where, "название первой части")
            _mark(target, "title")
            twin = dict(target, key=f"r{content['next_row']}", number=_required(number, where, "номер второй части"),
                        title=_required(second, where, "название второй части"), corrected=["split"])
            content["next_row"] += 1
            content["rows"].insert(content["rows"].index(target) + 1, twin)
        draft.content = content


def _copy(content: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(content)  # a new object, so the JSON column is written


def _mark(row: dict, what: str) -> None:
    if what not in row.setdefault("corrected", []):
        row["corrected"].append(what)


def _required(text: str, where: str, what: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InputError([Problem(where, 0, 0, f"{what} не может быть пустым")])
    return text[:2000]


def _add_entry(content: dict[str, Any], new: dict[str, str], where: str) -> str:
    name = " ".join((new.get("name") or "").split())
    if not name:
        raise InputError([Problem(where, 0, 0, "у нового ответственного должно быть название или имя")])
    kind = new.get("kind") or "unit"
    if kind not in _KINDS:
        raise InputError([Problem(where, 0, 0, f"вид «{kind}» неизвестен: " + ", ".join(_KINDS.values()))])
    email = (new.get("email") or "").strip()
    if email and not _EMAIL.fullmatch(email):
        raise InputError([Problem(where, 0, 0, f"адрес почты «{email}» записан неверно")])
    taken = _ids(content)
    base = slugify(name, max_length=40, word_boundary=True) or "owner"
    entry_id, n = base, 2
    while entry_id in taken:
        entry_id, n = f"{base}-{n}", n + 1
    entry = {"id": entry_id, "name": name[:300], "kind": kind}
    if email:
        entry["email"] = email
    content.setdefault("entries", []).append(entry)
    return entry_id


def _ids(content: dict[str, Any]) -> set[str]:
    resolver = resolve_owners(content, known(content)).resolver
    return ({e["id"] for e in resolver.directory} | {"@" + g["id"] for g in resolver.groups}
            | {g["id"] for g in resolver.groups} | {o["id"] for o in resolver.organisations})


def _check_refs(content: dict[str, Any], refs: list[str], where: str) -> None:
    if not refs:
        raise InputError([Problem(where, 0, 0, "выберите хотя бы одного ответственного")])
    ids = _ids(content)  # resolves the draft's owners: once, not per reference
    unknown = [r for r in refs if r not in ids]
    if unknown:
        raise InputError([Problem(where, 0, 0, "нет таких ответственных: " + ", ".join(unknown))])


def _open_draft(session: Session, draft_id: str, owner: str, now: dt.datetime) -> PlanDraft:
    """The owner's draft, still open: one applied already is refused, nothing written."""
    draft = fetch(session, draft_id, owner, now)
    if draft.state != "open":
        raise DraftApplied(draft.plan_id, draft.applied_version)
    return draft


def preview(engine: Engine, draft_id: str, *, owner: str, now: dt.datetime) -> Preview:
    """What applying would change (the diff against the plan's current version), writing nothing."""
    with Session(engine) as session:
        draft = _open_draft(session, draft_id, owner, now)
        session.expunge(draft)
    result = build_plan(draft)
    _own_plan(engine, result.plan.plan.id, owner)
    loaded = plans.load(engine, Path(draft.source_name), actor=owner, now=now, dry_run=True,
                        read=(result.plan, result.text))
    return Preview(loaded.diff, result.plan, result.text)


def _own_plan(engine: Engine, plan_id: str, owner: str) -> int:
    with Session(engine) as session:
        existing = session.get(Plan, plan_id)
        if existing is not None and existing.coordinator != owner:
            raise InputError([Problem(plan_id, 0, 0, f"план «{plan_id}» ведёт другой координатор, "
                                                     f"«{existing.coordinator}»")])
        return existing.current_version if existing is not None else 0


def apply(engine: Engine, draft_id: str, *, owner: str, now: dt.datetime, base: int | None = None) -> plans.LoadResult:
    """The draft as a plan (or an amendment, confirmed against version `base`); the draft is
    then applied, and applying it again is refused with nothing written."""
    with Session(engine) as session:
        draft = _open_draft(session, draft_id, owner, now)
        session.expunge(draft)
    result = build_plan(draft)
    plan_id = result.plan.plan.id
    current = _own_plan(engine, plan_id, owner)
    expected = draft.base_version if base is None else base
    if current != expected:
        raise VersionChanged(plan_id, current, expected)
    # A campaign's draft joins it in the load's own transaction, unless it is a second plan of its
    # organisation and year there (then nothing is written).
    campaign = None if draft.campaign_id is None else (
        draft.campaign_id, f"документ «{draft.source_name}» (план «{result.plan.plan.title}»)")
    loaded = plans.load(engine, Path(draft.source_name), actor=owner, now=now, read=(result.plan, result.text),
                        campaign=campaign)
    with write_session(engine) as session:
        moved = session.execute(update(PlanDraft).where(PlanDraft.id == draft_id, PlanDraft.state == "open").values(
            state="applied", plan_id=plan_id, applied_version=loaded.version)).rowcount
    if moved != 1:  # applied by another request meanwhile: its load was the same file
        raise DraftApplied(plan_id, loaded.version)
    return loaded
