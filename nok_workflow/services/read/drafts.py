"""Plan drafts as the review page and the API show them: every row as the document has it
beside how it was understood (dates or the doubt, owners matched or new), rows that need a
person first; and the refusals a draft's pages answer (not found, expired, applied)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.deadlines.context import PlanPeriod
from nok_workflow.deadlines.grammar import interpret, normalise
from nok_workflow.importer.draft import (
    PERIOD_GUESSED,
    Directory,
    ImportResult,
    period_of,
    resolve_owners,
    to_plan,
)
from nok_workflow.importer.form457_draft import find_organisation
from nok_workflow.problems import InputError
from nok_workflow.store.models import Plan, PlanDraft

DAYS_KEPT = 7
_SHOWN_DATES = 4
_YEAR = re.compile(r"(?<!\d)(?:19|20|21)\d\d(?!\d)|(?<!\d)\d{1,2}\.\d{1,2}\.\d{2}(?!\d)")


class DraftNotFound(Exception):
    """No such draft, or another coordinator's: both answer alike."""


class DraftExpired(Exception):
    def __init__(self, expires_at: dt.datetime) -> None:
        super().__init__(f"черновик истёк {expires_at:%d.%m.%Y}")
        self.expires_at = expires_at


class DraftApplied(Exception):
    def __init__(self, plan_id: str | None, version: int | None) -> None:
        super().__init__(f"черновик уже применён: план «{plan_id}», версия {version}")
        self.plan_id, self.version = plan_id, version


class VersionChanged(Exception):
    def __init__(self, plan_id: str, current: int, base: int) -> None:
        super().__init__(f"план «{plan_id}» изменился: версия {current}, а не {base}")
        self.plan_id, self.current, self.base = plan_id, current, base


@dataclass
class OwnerView:
    ref: str
    name: str
    new: bool  # made by this draft, not a known directory entry
    alike: list[str] = field(default_factory=list)  # names it may be the same party as
    reach: str = ""  # who of it gets reminders: «нет адреса», «организаций: 30, без адреса: 2»
    unreached: bool = False  # nobody of it has an address: nobody will be reminded


@dataclass
class RowView:
    key: str
    origin: str
    section: str
    number: str
    title: str
    deadline: str
    dates: list[str]
    deadline_doubts: list[str]
    owners_text: str
    owners: list[OwnerView]
    result: str
    attention: list[str]  # why a person should look at it; empty: as understood
    corrected: list[str]
    split_number: str  # a free number for the second part if the row is split
    shortcoming: str = ""  # the №457 form: the shortcoming the measure removes
    criterion: int | None = None  # the form's section: the assessment's criterion
    progress: str = ""  # «Сведения о ходе реализации»: the measures taken and when


@dataclass
class DraftView:
    id: str
    source_name: str
    state: str
    created_at: dt.datetime
    expires_at: dt.datetime
    meta: dict[str, Any]
    period: str
    rows: list[RowView]  # those needing attention first, then the rest in document order
    notes: list[str]
    created: list[str]
    similar: list[str]
    problems: list[str]  # what keeps the draft from becoming a plan; empty: it can be applied
    warnings: list[str]
    choices: list[tuple[str, str]]  # (ref, name) an owner may be picked from
    existing_version: int  # the plan's current version; 0: a new plan
    plan_id: str | None = None  # once applied
    applied_version: int | None = None
    unreached: list[str] = field(default_factory=list)  # owners nobody of whom has an address
    organisation: str | None = None  # the №457 form: the organisation the title names
    organisation_known: bool = True  # …found in the coordinator's directory (else it can be added)

    @property
    def attention(self) -> int:
        return sum(1 for r in self.rows if r.attention)


@dataclass
class DraftSummary:
    id: str
    source_name: str
    title: str
    rows: int
    created_at: dt.datetime
    expires_at: dt.datetime
    timezone: str


def fetch(session: Session, draft_id: str, owner: str, now: dt.datetime) -> PlanDraft:
    """The owner's draft; another's and a missing one alike are not found; an expired one says so."""
    draft = session.get(PlanDraft, draft_id) if len(draft_id) <= 64 else None
    if draft is None or draft.owner != owner:
        raise DraftNotFound(draft_id)
    if draft.state == "open" and _aware(draft.expires_at) <= now:
        raise DraftExpired(_aware(draft.expires_at))
    return draft


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def open_drafts(engine: Engine, owner: str, now: dt.datetime) -> list[DraftSummary]:
    with Session(engine) as session:
        rows = session.execute(select(PlanDraft).where(
            PlanDraft.owner == owner, PlanDraft.state == "open").order_by(PlanDraft.created_at.desc())).scalars()
        return [DraftSummary(d.id, d.source_name, d.content["meta"]["title"], len(d.content["rows"]),
                             _aware(d.created_at), _aware(d.expires_at), d.content["meta"]["timezone"])
                for d in rows if _aware(d.expires_at) > now]


def known(content: dict[str, Any]) -> Directory:
    return Directory(**content.get("known", {}))


def plan_period(period: object) -> PlanPeriod:
    """The draft's period (a year, {start, end} years or dates) as the grammar reads it."""
    if isinstance(period, dict):
        start, end = period["start"], period["end"]
        return PlanPeriod(start if isinstance(start, dt.date) else dt.date(int(start), 1, 1),
                          end if isinstance(end, dt.date) else dt.date(int(end), 12, 31))
    return PlanPeriod.year(int(period))  # type: ignore[arg-type]


def build_plan(draft: PlanDraft) -> ImportResult:
    """The draft as plan YAML (raises InputError with what keeps it from being a plan)."""
    content = draft.content
    return to_plan(content, known(content), output_name=draft.source_name,
                   origin=f"Импортировано из {draft.source_name} в браузере; сверено координатором.",
                   coordinator=content.get("coordinator"))


def view(engine: Engine, draft_id: str, owner: str, now: dt.datetime) -> DraftView:
    with Session(engine) as session:
        draft = fetch(session, draft_id, owner, now)
        session.expunge(draft)
        plan_id = draft.content["meta"]["plan_id"]
        existing = session.execute(select(Plan.current_version).where(Plan.id == plan_id)).scalar()
    return describe(draft, existing or 0)


def describe(draft: PlanDraft, existing_version: int) -> DraftView:
    content = draft.content
    directory = known(content)
    owners = resolve_owners(content, directory)
    names = {e["id"]: e["name"] for e in owners.resolver.directory} | {
        "@" + g["id"]: g["name"] for g in owners.resolver.groups}
    known_ids = {e["id"] for e in directory.directory} | {"@" + g["id"] for g in directory.groups}
    reach = _reach(owners.resolver)
    period = plan_period(period_of(content))
    guessed_year = any(PERIOD_GUESSED in n for n in content["notes"])
    rows = []
    for row in content["rows"]:
        reading = interpret(row["deadline"], period)
        doubts = [*reading.errors, *reading.warnings]
        attention = []
        if reading.errors or any(w.startswith("не удалось распознать") for w in reading.warnings):
            attention.append("срок не понят")
        elif reading.kind == "unscheduled":
            attention.append("срок без даты")
        elif reading.warnings:
            attention.append("срок понят с оговоркой")
        if guessed_year and row["deadline"] and not _YEAR.search(normalise(row["deadline"])):
            doubts.append(f"год взят из периода плана {period.describe()}, определённого по срокам других "
                          "пунктов — проверьте")
            attention.append("год по догадке")
        shown = [OwnerView(ref, names.get(ref, ref), ref not in known_ids, owners.alike.get(ref, []),
                           *reach.get(ref, ("", False)))
                 for ref in owners.refs[row["key"]]]
        if owners.notes[row["key"]]:
            attention.append("ответственные разделены по догадке")
            doubts_owners = owners.notes[row["key"]]
        else:
            doubts_owners = []
        if any(o.alike for o in shown):
            attention.append("похожие ответственные")
        if not shown:
            attention.append("нет ответственных")
        rows.append(RowView(
            key=row["key"], origin=row["origin"],
            section=" ".join(x for x in (row["section_number"], row["section_title"]) if x),
            number=row["number"], title=row["title"], deadline=row["deadline"], dates=_dates(reading),
            deadline_doubts=doubts + doubts_owners, owners_text=row["owners_text"], owners=shown,
            result=row["result"], attention=attention, corrected=row.get("corrected", []),
            split_number=_free_number(content["rows"], row),
            shortcoming=row.get("shortcoming", ""), criterion=row.get("criterion"),
            progress=" — ".join(x for x in (row.get("measures"), row.get("done")) if x),
        ))
    problems, warnings = [], []
    try:
        result = build_plan(draft)
        warnings = result.report.warnings
    except InputError as exc:
        problems = [p.message for p in exc.problems]  # lines of the YAML made here mean nothing to a reader
    rows.sort(key=lambda r: not r.attention)  # stable: document order within each group
    choices = sorted(names.items(), key=lambda kv: kv[1].lower())
    return DraftView(
        id=draft.id, source_name=draft.source_name, state=draft.state, created_at=_aware(draft.created_at),
        expires_at=_aware(draft.expires_at), meta=content["meta"], period=period.describe(), rows=rows,
        notes=content["notes"], created=owners.resolver.created, similar=owners.similar, problems=problems,
        warnings=warnings, choices=choices, existing_version=existing_version, plan_id=draft.plan_id,
        applied_version=draft.applied_version,
        unreached=list(dict.fromkeys(o.name for r in rows for o in r.owners if o.unreached)),
        organisation=(organisation := content["meta"].get("organisation_name")),
        organisation_known=organisation is None or find_organisation(organisation, directory) is not None,
    )


def _reach(resolver) -> dict[str, tuple[str, bool]]:  # noqa: ANN001 - importer.owners.Resolver
    """Per owner ref: who of it has an address, said for the page, and whether nobody has."""
    reach: dict[str, tuple[str, bool]] = {}
    for entry in resolver.directory:
        if not entry.get("email"):
            reach[entry["id"]] = ("нет адреса — напоминаний не получит", True)
    for group in resolver.groups:
        orgs = [o for o in resolver.organisations if o.get("group") == group["id"]]
        without = sum(1 for o in orgs if not o.get("email"))
        if not orgs:
            reach["@" + group["id"]] = ("организаций группы нет в справочнике — напоминаний никто не получит", True)
        else:
            reach["@" + group["id"]] = (f"организаций: {len(orgs)}" + (f", без адреса: {without}" if without else ""),
                                        without == len(orgs))
    return reach


def _free_number(rows: list[dict], row: dict) -> str:
    """The next number of the row's section, or the row's number with «.1»."""
    numbers = [r["number"].rstrip(".") for r in rows if r["section"] == row["section"]]
    if row["number"].rstrip(".").isdigit() and all(n.isdigit() for n in numbers):
        return str(max(int(n) for n in numbers) + 1)
    candidate, n = f"{row['number'].rstrip('.')}.1", 1
    while candidate in numbers:
        n += 1
        candidate = f"{row['number'].rstrip('.')}.{n}"
    return candidate


def _dates(reading) -> list[str]:
    if reading.kind == "relative" and reading.relative is not None:
        r = reading.relative
        unit = {"working_days": "раб. дн.", "days": "дн.", "months": "мес."}.get(r.unit, r.unit)
        return [f"через {r.amount} {unit} после события «{r.event}»"]
    shown = [f"{o.due:%d.%m.%Y}" if o.opens == o.due else f"{o.opens:%d.%m.%Y}–{o.due:%d.%m.%Y}"
             for o in reading.occurrences[:_SHOWN_DATES]]
    if len(reading.occurrences) > _SHOWN_DATES:
        shown.append(f"и ещё {len(reading.occurrences) - _SHOWN_DATES}")
    return shown
