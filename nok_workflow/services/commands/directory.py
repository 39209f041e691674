"""A coordinator's directory: add and edit entries, merge two look-alikes, set an address.

Every change is one transaction that also brings the parties of the coordinator's plans up
to date (directory_links.py), so the next digest goes to the new address without the plan
being loaded again; and writes an audit event (which also tells cached dashboards).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from slugify import slugify
from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.services.commands.directory_links import relink, spread
from nok_workflow.services.read.directory import names_of
from nok_workflow.store.db import write_session
from nok_workflow.store.models import DirectoryEntry, Party, Plan

KINDS = ("person", "unit", "organisation", "group")
KIND_LABELS = {"person": "человек", "unit": "подразделение", "organisation": "организация", "group": "группа"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class EntryFields:
    name: str
    kind: str = "organisation"
    short_name: str | None = None
    email: str | None = None
    group_id: str | None = None
    code: str | None = None
    aliases: tuple[str, ...] = ()


def _fail(where: str, message: str) -> InputError:
    return InputError([Problem(where, 0, 0, message)])


def check_email(value: str | None, where: str = "email") -> str | None:
    """The address as it will be used (trimmed), None for empty; an invalid one is refused."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise _fail(where, f"«{value}» — не адрес электронной почты") from None
    return value


def check_id(value: str, where: str = "id") -> str:
    value = value.strip()
    if not _ID.match(value):
        raise _fail(where, f"«{value}» — не годится как id: строчные латинские буквы, цифры, _ . - (как в плане)")
    return value


def slug(text: str, max_length: int) -> str:
    """python-slugify's «auto» looks for the unidecode package on every call (~0.2 ms, most of
    a 6,000-row list's preview); text-unidecode, which it comes with, is named outright."""
    return slugify(text, max_length=max_length, word_boundary=True, backend="text-unidecode")


def new_id(base_name: str, taken: set[str]) -> str:
    """An id for a new entry, as the importer makes them: a slug of the name, -2, -3… if taken."""
    base = slug(base_name, 40) or "org"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _check(fields: EntryFields) -> EntryFields:
    name = " ".join(fields.name.split())
    if not name:
        raise _fail("name", "укажите наименование")
    if fields.kind not in KINDS:
        raise _fail("kind", f"«{fields.kind}» — неизвестный вид; допустимо: {', '.join(KINDS)}")
    aliases = tuple(dict.fromkeys(" ".join(a.split()) for a in fields.aliases if a.strip()))
    return EntryFields(name=name, kind=fields.kind, short_name=(fields.short_name or "").strip() or None,
                       email=check_email(fields.email), group_id=(fields.group_id or "").strip() or None,
                       code=(fields.code or "").strip() or None, aliases=aliases)


def search_text(entry: DirectoryEntry | dict) -> str:
    get = entry.get if isinstance(entry, dict) else lambda k: getattr(entry, k)
    parts = [get("id"), *names_of(entry), get("email") or "", get("code") or ""]
    return " ".join(parts).lower().replace("ё", "е")


def add(engine: Engine, owner: str, fields: EntryFields, *, by: str, now: dt.datetime,
        entry_id: str | None = None) -> DirectoryEntry:
    fields = _check(fields)
    with write_session(engine) as session:
        taken = set(session.execute(select(DirectoryEntry.id).where(DirectoryEntry.owner == owner)).scalars())
        if entry_id:
            entry_id = check_id(entry_id)
            if entry_id in taken:
                raise _fail("id", f"в справочнике уже есть запись «{entry_id}»")
        else:
            entry_id = new_id(fields.short_name or fields.name, taken)
        entry = DirectoryEntry(owner=owner, id=entry_id, kind=fields.kind, name=fields.name,
                               short_name=fields.short_name, email=fields.email, aliases=list(fields.aliases),
                               group_id=fields.group_id, code=fields.code, updated_at=now)
        entry.search = search_text(entry)
        session.add(entry)
        session.flush()
        relink(session, owner)
        audit.record(session, actor=by, action="directory.add", plan_id=None, at=now,
                     details={"owner": owner, "id": entry_id})
        session.expunge(entry)
        return entry


def _entry(session: Session, owner: str, entry_id: str) -> DirectoryEntry:
    entry = session.get(DirectoryEntry, (owner, entry_id))
    if entry is None:
        raise _fail("id", f"в справочнике нет записи «{entry_id}»")
    return entry


def edit(engine: Engine, owner: str, entry_id: str, fields: EntryFields, *, by: str,
         now: dt.datetime) -> DirectoryEntry:
    fields = _check(fields)
    with write_session(engine) as session:
        entry = _entry(session, owner, entry_id)
        renamed = names_of(entry) != [fields.name, *([fields.short_name] if fields.short_name else []),
                                      *fields.aliases]
        for name in ("kind", "name", "short_name", "email", "group_id", "code"):
            setattr(entry, name, getattr(fields, name))
        entry.aliases = list(fields.aliases)
        entry.updated_at = now
        entry.search = search_text(entry)
        session.add(entry)
        session.flush()
        if renamed:
            relink(session, owner)
        else:
            spread(session, owner, entry_id, entry.email)
        audit.record(session, actor=by, action="directory.edit", plan_id=None, at=now,
                     details={"owner": owner, "id": entry_id})
        session.expunge(entry)
        return entry


def set_email(engine: Engine, owner: str, entry_id: str, email: str | None, *, by: str,
              now: dt.datetime) -> int:
    """The entry's address (an entry is made from the party of that id in the coordinator's
    plans when there is none yet); the number of parties that now use it."""
    email = check_email(email)
    entry_id = entry_id.strip()
    with write_session(engine) as session:
        entry = session.get(DirectoryEntry, (owner, entry_id))
        if entry is None:
            party = session.execute(
                select(Party.name, Party.kind, Party.group_id)
                .where(Party.id == entry_id, Party.plan_id.in_(select(Plan.id).where(Plan.coordinator == owner)))
                .limit(1)).first()
            if party is None:
                raise _fail("id", f"«{entry_id}» нет ни в справочнике, ни в ваших планах")
            entry = DirectoryEntry(owner=owner, id=entry_id, kind=party.kind if party.kind in KINDS else "unit",
                                   name=party.name, email=email, aliases=[], group_id=party.group_id,
                                   updated_at=now)
            entry.search = search_text(entry)
            session.add(entry)
            session.flush()
            relink(session, owner)
        else:
            entry.email, entry.updated_at = email, now
            entry.search = search_text(entry)
            session.add(entry)
            session.flush()
            spread(session, owner, entry_id, email)
        used = session.execute(select(Party.plan_id).where(
            Party.email_from == entry_id, Party.plan_id.in_(select(Plan.id).where(Plan.coordinator == owner)))).all()
        audit.record(session, actor=by, action="directory.email", plan_id=None, at=now,
                     details={"owner": owner, "id": entry_id, "email": email})
        return len(used)


def merge(engine: Engine, owner: str, keep: str, drop: str, *, by: str, now: dt.datetime) -> DirectoryEntry:
    """`drop` goes; its names become aliases of `keep` (so the next import and the next plan
    matches them to `keep`), its address and code fill what `keep` lacks, and the parties
    that took `drop`'s address take `keep`'s."""
    if keep == drop:
        raise _fail("merge", "выберите две разные записи")
    with write_session(engine) as session:
        kept, gone = _entry(session, owner, keep), _entry(session, owner, drop)
        own = {kept.name, kept.short_name}
        kept.aliases = list(dict.fromkeys([*kept.aliases, *(n for n in names_of(gone) if n not in own)]))
        for name in ("short_name", "email", "group_id", "code"):
            if not getattr(kept, name):
                setattr(kept, name, getattr(gone, name))
        kept.updated_at = now
        kept.search = search_text(kept)
        session.add(kept)
        session.delete(gone)
        session.flush()
        relink(session, owner)
        audit.record(session, actor=by, action="directory.merge", plan_id=None, at=now,
                     details={"owner": owner, "kept": keep, "merged": drop})
        session.expunge(kept)
        return kept
