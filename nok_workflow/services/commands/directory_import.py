"""A list of organisations into a coordinator's directory: a preview that says, row by row,
what would happen (a new entry, an update of one already there, nothing, or a problem), and
an apply that does exactly that in one transaction, in bulk — or, when any row has a
problem, writes nothing and names each problem's row and value."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlmodel import Session

from nok_workflow.importer.org_list import OrgRow, read_org_list
from nok_workflow.importer.owners import normalise_name
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.services.commands.directory import check_email, new_id, search_text, slug
from nok_workflow.services.commands.directory_links import name_index, relink
from nok_workflow.services.read.directory import names_of
from nok_workflow.store.db import write_session
from nok_workflow.store.models import DirectoryEntry, Party, Plan

_FIELDS = ("name", "short_name", "email", "group_id", "code")
ACTIONS = {"new": "новая запись", "update": "обновление", "same": "без изменений", "error": "ошибка"}


@dataclass
class PreviewRow:
    origin: str
    name: str
    email: str
    action: str  # new | update | same | error
    entry_id: str = ""
    message: str = ""  # the problem, or what an update changes
    values: dict = field(default_factory=dict, repr=False)


@dataclass
class Preview:
    file: str
    rows: list[PreviewRow]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def problems(self) -> list[Problem]:
        return [Problem(r.origin, 0, 0, r.message) for r in self.rows if r.action == "error"]

    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ACTIONS}


def _read(path: Path, name: str | None) -> list[OrgRow]:
    """The list's rows; `name`: what the user calls the file (a staged upload has another)."""
    rows = read_org_list(path)
    if name and name != path.name:
        rows = [replace(r, origin=r.origin.replace(path.name, name, 1)) for r in rows]
    return rows


def preview(engine: Engine, owner: str, path: Path, name: str | None = None) -> Preview:
    rows = _read(path, name)
    with Session(engine) as session:
        return _decide(session, owner, rows, name or path.name)


def apply(engine: Engine, owner: str, path: Path, *, by: str, now: dt.datetime,
          name: str | None = None) -> Preview:
    rows = _read(path, name)
    with write_session(engine) as session:
        result = _decide(session, owner, rows, name or path.name)
        if result.problems:
            raise InputError(result.problems)
        new = [{"owner": owner, "id": r.entry_id, "kind": "organisation", "aliases": [], "updated_at": now,
                **r.values, "search": search_text({"id": r.entry_id, "aliases": [], **r.values})}
               for r in result.rows if r.action == "new"]
        if new:
            session.connection().execute(insert(DirectoryEntry.__table__), new)
        _add_groups(session, owner, rows, now)
        changed = [{"b_id": r.entry_id, **r.values, "updated_at": now, "search": r.values["search"]}
                   for r in result.rows if r.action == "update"]
        if changed:
            table = DirectoryEntry.__table__
            session.connection().execute(
                update(table).where(table.c.owner == owner, table.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in (*_FIELDS, "updated_at", "search")}), changed)
        linked = relink(session, owner)
        audit.record(session, actor=by, action="directory.import", plan_id=None, at=now,
                     details={"owner": owner, "file": result.file, "added": len(new), "updated": len(changed),
                              "parties": linked})
        return result


def _add_groups(session: Session, owner: str, rows: list[OrgRow], now: dt.datetime) -> None:
    """A group named in the list («Образовательные учреждения») becomes an entry of its own, by
    the name as written: a plan document that names the group finds it, and its organisations."""
    named = {gid: row.group.strip() for row in rows if row.group.strip() and (gid := _group(row.group))}
    known = set(session.execute(select(DirectoryEntry.id).where(
        DirectoryEntry.owner == owner, DirectoryEntry.id.in_(list(named)))).scalars()) if named else set()
    groups = [{"owner": owner, "id": gid, "kind": "group", "name": name, "aliases": [], "updated_at": now,
               "search": search_text({"id": gid, "name": name, "aliases": []})}
              for gid, name in named.items() if gid not in known]
    if groups:
        session.connection().execute(insert(DirectoryEntry.__table__), groups)


def _decide(session: Session, owner: str, rows: list[OrgRow], file: str) -> Preview:
    # Plain rows, not ORM objects: a region's directory is thousands of entries.
    existing = {e.id: e for e in session.execute(
        select(*DirectoryEntry.__table__.c).where(DirectoryEntry.owner == owner))}
    by_name = name_index([(e.id, names_of(e)) for e in existing.values()])
    by_code = {e.code: e.id for e in existing.values() if e.code}
    taken = set(existing)
    # A new entry takes the id its organisation already has in the coordinator's plans.
    party_ids = name_index([(pid, [name]) for pid, name in session.execute(
        select(Party.id, Party.name).where(Party.kind != "group",
                                           Party.plan_id.in_(select(Plan.id).where(Plan.coordinator == owner))))])
    seen_names: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    seen_emails: dict[str, str] = {}
    out = []
    for row in rows:
        shown = PreviewRow(row.origin, row.name, row.email, "error")
        out.append(shown)
        key = normalise_name(row.name)
        if not key:
            shown.message = "нет наименования"
            continue
        try:
            email = check_email(row.email, row.origin)
        except InputError:
            shown.message = f"«{row.email}» — не адрес электронной почты"
            continue
        if key in seen_names:
            shown.message = f"«{row.name}» уже есть в файле выше ({seen_names[key]})"
            continue
        if row.code and row.code in seen_codes:
            shown.message = f"ИНН {row.code} уже есть в файле выше ({seen_codes[row.code]})"
            continue
        seen_names[key] = row.origin
        if row.code:
            seen_codes[row.code] = row.origin
        # One address for two organisations (a branch and its school) is allowed, but said.
        shared = seen_emails.setdefault(email.lower(), row.origin) if email else row.origin
        note = f"тот же адрес, что в строке «{shared}»" if shared != row.origin else ""
        values = {"name": row.name, "short_name": row.short_name or None, "email": email,
                  "group_id": _group(row.group), "code": row.code or None}
        target = _match(row, key, existing, by_name, by_code)
        if target == "":
            shown.message = f"«{row.name}» похоже сразу на несколько записей справочника — объедините их"
            continue
        if target is None:
            known = party_ids.get(key, set()) - taken
            entry_id = row.id or (next(iter(known)) if len(known) == 1 else new_id(row.short_name or row.name, taken))
            if entry_id in taken:
                shown.message = f"идентификатор «{entry_id}» уже занят"
                continue
            taken.add(entry_id)
            shown.action, shown.entry_id, shown.values, shown.message = "new", entry_id, values, note
            continue
        entry = existing[target]
        # What the file leaves empty is kept: a list without addresses does not erase them.
        merged = {k: v if v is not None else getattr(entry, k) for k, v in values.items()}
        diff = [k for k in _FIELDS if merged[k] != getattr(entry, k)]
        shown.entry_id = target
        if not diff:
            shown.action, shown.message = "same", note
            continue
        merged["search"] = search_text({"id": target, "aliases": entry.aliases, **merged})
        shown.action, shown.values = "update", merged
        shown.message = "; ".join([*(_said(k, getattr(entry, k), merged[k]) for k in diff), *([note] if note else [])])
    return Preview(file, out)


def _match(row: OrgRow, key: str, existing: dict, by_name: dict[str, set[str]], by_code: dict[str, str]) -> str | None:
    """The entry a row updates: by id, by ИНН, by name; None: a new one; "": ambiguous."""
    if row.id and row.id in existing:
        return row.id
    if row.code and row.code in by_code:
        return by_code[row.code]
    found = by_name.get(key, set()) | (by_name.get(normalise_name(row.short_name), set()) if row.short_name else set())
    if len(found) > 1:
        return ""
    return next(iter(found), None)


@functools.lru_cache(maxsize=256)
def _group(text: str) -> str | None:
    return slug(text, 64) or None if text else None


_WORDS = {"name": "наименование", "short_name": "краткое наименование", "email": "почта", "group_id": "группа",
          "code": "ИНН"}


def _said(key: str, old: object, new: object) -> str:
    return f"{_WORDS[key]}: «{old or '—'}» → «{new or '—'}»"
