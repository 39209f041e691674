"""A coordinator's directory as pages and the CLI show it: entries by pages with a search,
who in the coordinator's plans has no address (with the open obligations each holds), and
whose directory a command means when it is not said."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, String, and_, func, literal, or_, select, true, union_all
from sqlmodel import Session

from nok_workflow.plan.ids import NO_ORG
from nok_workflow.problems import InputError, Problem
from nok_workflow.store.models import Account, DirectoryEntry, Item, Obligation, Party, Plan
from nok_workflow.store.owners import owner_refs

PAGE = 50


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    name: str
    short_name: str | None
    email: str | None
    aliases: list[str]
    group_id: str | None
    code: str | None


@dataclass(frozen=True)
class Missing:
    id: str
    name: str
    kind: str
    plans: int  # in how many of the coordinator's plans
    open: int  # open obligations it holds (neither done, waived nor cancelled)


def as_plan_lists(session: Session, owner: str) -> dict[str, list[dict]]:
    """The coordinator's directory as a plan's three lists (directory, groups, organisations), to
    match a plan document's owners against: people and units, groups, and the organisations of
    each group with their addresses (an organisation without a group is not a plan's, but it
    may be the organisation a plan in the №457 form is for: "standalone")."""
    lists: dict[str, list[dict]] = {"directory": [], "groups": [], "organisations": [], "standalone": []}
    for e in session.execute(select(DirectoryEntry).where(DirectoryEntry.owner == owner)
                             .order_by(DirectoryEntry.id)).scalars():
        aliases = [n for n in (e.short_name, *e.aliases) if n and n != e.name]
        extra = {"email": e.email} if e.email else {}
        if e.kind in ("person", "unit"):
            lists["directory"].append({"id": e.id, "name": e.name, "kind": e.kind, **extra,
                                       **({"aliases": aliases} if aliases else {})})
        elif e.kind == "group":
            lists["groups"].append({"id": e.id, "name": e.name, **({"aliases": aliases} if aliases else {})})
        elif e.group_id:
            lists["organisations"].append({"id": e.id, "name": e.name, "group": e.group_id, **extra})
        else:
            lists["standalone"].append({"id": e.id, "name": e.name, **extra,
                                        **({"aliases": aliases} if aliases else {})})
    groups = {g["id"] for g in lists["groups"]}
    lists["organisations"] = [o for o in lists["organisations"] if o["group"] in groups]
    return lists


def names_of(entry: DirectoryEntry | dict) -> list[str]:
    """The names an entry is known by: its name, short name and aliases."""
    get = entry.get if isinstance(entry, dict) else lambda k: getattr(entry, k)
    return [n for n in (get("name"), get("short_name"), *(get("aliases") or [])) if n]


def coordinators(engine: Engine) -> list[str]:
    """Everyone who may own a directory: the accounts and the plans' coordinators."""
    with Session(engine) as session:
        found = set(session.execute(select(Account.login)).scalars())
        found |= set(session.execute(select(Plan.coordinator).distinct()).scalars())
    return sorted(found)


def default_owner(engine: Engine, given: str | None) -> str:
    """The coordinator a command means: the one given, or the only one there is."""
    known = coordinators(engine)
    if given:
        if given not in known:
            raise InputError([Problem("--coordinator", 0, 0, f"координатора «{given}» нет: ни учётной записи, "
                                                              "ни плана с таким coordinator")])
        return given
    if len(known) == 1:
        return known[0]
    if not known:
        raise InputError([Problem("--coordinator", 0, 0, "в хранилище нет ни учётных записей, ни планов: "
                                                          "создайте учётную запись (nok user add) или загрузите план")])
    raise InputError([Problem("--coordinator", 0, 0, "координаторов несколько (" + ", ".join(known)
                              + "): укажите, чей справочник, параметром --coordinator")])


def _like(query: str):  # noqa: ANN202 - a SQL condition
    pattern = "%" + query.lower().replace("ё", "е").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return DirectoryEntry.search.like(pattern, escape="\\")


def entries(engine: Engine, owner: str, *, query: str = "", limit: int = PAGE, offset: int = 0,
            without_email: bool = False) -> tuple[list[Entry], int]:
    """A page of entries by name, and how many match in all (one query)."""
    where = [DirectoryEntry.owner == owner]
    if query.strip():
        where.append(_like(query.strip()))
    if without_email:
        where.append(or_(DirectoryEntry.email.is_(None), DirectoryEntry.email == ""))
    columns = [getattr(DirectoryEntry, f) for f in Entry.__dataclass_fields__]
    with Session(engine) as session:
        # Two index reads: the page in the index's order, the count from the index alone.
        rows = session.execute(select(*columns).where(*where)
                               .order_by(DirectoryEntry.name, DirectoryEntry.id).limit(limit).offset(offset)).all()
        total = session.execute(select(func.count()).select_from(DirectoryEntry).where(*where)).scalar_one()
    return [Entry(*r) for r in rows], total


def entry(engine: Engine, owner: str, entry_id: str) -> Entry | None:
    with Session(engine) as session:
        row = session.get(DirectoryEntry, (owner, entry_id))
        return None if row is None else Entry(*(getattr(row, f) for f in Entry.__dataclass_fields__))


def _open():  # noqa: ANN202 - a SQL condition
    return and_(Obligation.state == "active", Obligation.completed_on.is_(None))


def missing(engine: Engine, owner: str, *, limit: int = PAGE, offset: int = 0,
            plan_id: str | None = None) -> tuple[list[Missing], int]:
    """The parties of `owner`'s plans that have no address, most open obligations first, and
    how many there are: one query (the owners of open obligations counted in SQL)."""
    with Session(engine) as session:
        dialect = session.get_bind().dialect.name
        plans = select(Plan.id).where(Plan.coordinator == owner)
        if plan_id is not None:
            plans = plans.where(Plan.id == plan_id)
        ref = owner_refs(dialect)
        # One aggregate over a union (parties without an address, and each open obligation
        # under its owner), no join: a join of parties to counted obligations is planned as a
        # nested loop while the new party table has no statistics (18 s for 6,000 on PostgreSQL).
        none, one = literal(None, String), literal(1)
        rows_of = union_all(
            select(Party.plan_id, Party.id.label("owner"), Party.name.label("name"), Party.kind.label("kind"),
                   one.label("party"), literal(0).label("open"))
            .where(Party.plan_id.in_(plans), Party.kind != "group",
                   or_(Party.email.is_(None), Party.email == literal(""))),
            select(Obligation.plan_id, Obligation.org_id, none, none, literal(0), one)
            .where(Obligation.plan_id.in_(plans), Obligation.org_id != NO_ORG, _open()),
            select(Obligation.plan_id, ref.c.value.cast(String), none, none, literal(0), one)
            .select_from(Obligation).join(Item, Item.id == Obligation.item_id).join(ref, true())
            .where(Obligation.plan_id.in_(plans), Obligation.org_id == NO_ORG, _open(),
                   ~ref.c.value.startswith("@")),
        ).subquery()
        per_plan = (select(rows_of.c.owner, func.max(rows_of.c.name).label("name"),
                           func.max(rows_of.c.kind).label("kind"), func.sum(rows_of.c.open).label("open"))
                    .group_by(rows_of.c.plan_id, rows_of.c.owner).having(func.max(rows_of.c.party) == 1)
                    .subquery())
        open_n = func.sum(per_plan.c.open)
        rows = session.execute(
            select(per_plan.c.owner, func.min(per_plan.c.name), func.min(per_plan.c.kind), func.count(),
                   open_n.label("open"), func.count().over().label("total"))
            .group_by(per_plan.c.owner).order_by(open_n.desc(), func.min(per_plan.c.name), per_plan.c.owner)
            .limit(limit).offset(offset)).all()
    total = rows[0].total if rows else 0
    return [Missing(r[0], r[1], r[2], r[3], int(r[4])) for r in rows], total


def missing_total(engine: Engine, owner: str) -> int:
    """How many parties of `owner`'s plans have no address (without their obligations)."""
    with Session(engine) as session:
        return session.execute(select(func.count(func.distinct(Party.id))).where(
            Party.plan_id.in_(select(Plan.id).where(Plan.coordinator == owner)), Party.kind != "group",
            or_(Party.email.is_(None), Party.email == ""))).scalar_one()


def count_missing(session: Session, plan_id: str) -> int:
    """How many parties of one plan have no address (the dashboard's figure)."""
    return session.execute(select(func.count()).select_from(Party).where(
        Party.plan_id == plan_id, Party.kind != "group",
        or_(Party.email.is_(None), Party.email == ""))).scalar_one()


def missing_count(engine: Engine, plan_id: str) -> int:
    with Session(engine) as session:
        return count_missing(session, plan_id)


def look_alikes(engine: Engine, owner: str, entry_id: str, limit: int = 10) -> list[Entry]:
    """Entries that probably name the same party as `entry_id` (importer/similar.py's rule):
    what the merge form offers."""
    from nok_workflow.importer.similar import probably_same

    with Session(engine) as session:
        rows = session.execute(select(DirectoryEntry).where(DirectoryEntry.owner == owner)).scalars().all()
        this = next((r for r in rows if r.id == entry_id), None)
        if this is None:
            return []
        mine = names_of(this)
        found = [r for r in rows if r.id != entry_id
                 and any(probably_same(a, b) for a in mine for b in names_of(r))][:limit]
        return [Entry(*(getattr(r, f) for f in Entry.__dataclass_fields__)) for r in found]
