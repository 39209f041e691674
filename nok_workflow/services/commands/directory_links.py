"""A party's effective address: the plan's own entry wins when it has an email; otherwise
the coordinator's directory entry with the same id, or else the one entry whose name, short
name or alias matches the party's name (normalised as the importer matches owners).

Delivery reads `Party.email` and nothing else: a party whose address comes from the directory
carries the entry's id in `Party.email_from` and a copy of its address in `email`. Loading a
plan links its parties (`link_plan`); a changed address is one UPDATE of the parties that
carry that entry (`spread`); new names or entries relink the coordinator's plans (`relink`).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from nok_workflow.importer.owners import normalise_name
from nok_workflow.services.read.directory import names_of
from nok_workflow.store.models import DirectoryEntry, Party, Plan


def name_index(entries: Collection[tuple[str, list[str]]]) -> dict[str, set[str]]:
    """Normalised name → the ids of the entries known by it."""
    index: dict[str, set[str]] = {}
    for entry_id, names in entries:
        for name in names:
            index.setdefault(normalise_name(name), set()).add(entry_id)
    return index


def relink(session: Session, owner: str, plan_ids: Collection[str] | None = None) -> int:
    """Link the parties of `owner`'s plans (or of `plan_ids`) that have no address of their
    own to the directory; the number of parties whose address changed. Reads the directory and
    those parties once; writes only the rows that change, in one executemany."""
    rows = session.execute(select(DirectoryEntry.id, DirectoryEntry.name, DirectoryEntry.short_name,
                                  DirectoryEntry.aliases, DirectoryEntry.email)
                           .where(DirectoryEntry.owner == owner)).all()
    emails = {r.id: r.email for r in rows}
    index = name_index([(r.id, names_of(r._asdict())) for r in rows])
    plans = select(Plan.id).where(Plan.coordinator == owner)
    if plan_ids is not None:
        plans = plans.where(Plan.id.in_(list(plan_ids)))
    parties = session.execute(
        select(Party.plan_id, Party.id, Party.name, Party.email, Party.email_from)
        .where(Party.plan_id.in_(plans), Party.kind != "group",
               Party.email_from.is_not(None) | Party.email.is_(None) | (Party.email == ""))).all()
    changes = []
    for p in parties:
        target = p.id if p.id in emails else None
        if target is None:
            found = index.get(normalise_name(p.name), set())
            target = next(iter(found)) if len(found) == 1 else None
        email = emails[target] if target is not None else None
        if (p.email_from, p.email or None) != (target, email):
            changes.append({"p_plan": p.plan_id, "p_id": p.id, "p_from": target, "p_email": email})
    if changes:
        table = Party.__table__
        session.connection().execute(
            update(table).where(table.c.plan_id == bindparam("p_plan"), table.c.id == bindparam("p_id"))
            .values(email_from=bindparam("p_from"), email=bindparam("p_email")), changes)
    return len(changes)


def link_plan(session: Session, plan_id: str, coordinator: str) -> None:
    """The hook of a plan's load: its parties without an address take the directory's."""
    relink(session, coordinator, [plan_id])


def spread(session: Session, owner: str, entry_id: str, email: str | None) -> int:
    """An entry's new address, in every party of `owner`'s plans that takes it: one UPDATE."""
    return session.execute(
        update(Party).where(Party.email_from == entry_id,
                            Party.plan_id.in_(select(Plan.id).where(Plan.coordinator == owner)))
        .values(email=email)).rowcount
