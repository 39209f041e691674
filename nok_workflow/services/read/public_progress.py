"""The public view of a plan's progress: open data for parents and the public council, with NO
personal data (a campaign's: public_campaign.py).

What may be shown: the plan's own text (title, sections, shortcomings, measures, deadline
wording), the organisations' and units' names, the people's POSITIONS (never their names), the
dates of the obligations and the outcome of each. What never is: a person's name or address, an
evidence file's name or comment (those are written by people and name people), a party id of a
person (a measure is named by its item key).

A measure's outcome is `reports.model.outcome` (the report's rule), with «в работе» split by
whether the obligation has opened yet («не наступил срок»); counting is done in SQL grouped by
item (or plan), with the same conditions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, func, or_, select
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.plan.compiled import ALL_OF_GROUP
from nok_workflow.reports.model import outcome
from nok_workflow.services.read.compiled_plans import CurrentPlan, current_plan
from nok_workflow.store.fresh import remembered
from nok_workflow.store.models import Campaign, Item, Obligation, Plan

# Outcome → the word the public page says; in the order the counts are shown.
WORDS: dict[str, str] = {
    "on_time": "выполнено",
    "late": "выполнено с опозданием",
    "overdue": "просрочено",
    "in_progress": "в работе",
    "not_yet": "не наступил срок",
}
CANCELLED = "отменено"  # every date of the measure was waived or cancelled
NO_DATES = "без срока"  # a measure with no dates at all (an unscheduled item)
NO_POSITION = "ответственный работник"
VIEW_TTL = 5.0  # seconds a computed view is reused (the answers say «keep for a minute» anyway)
DUE_DATES_SHOWN = 12  # a per-school item of a region has one date per school: at most this many
ob = Obligation


@dataclass(frozen=True)
class Counts:
    """Obligations by outcome, without the cancelled and waived ones (those are not to be done)."""

    on_time: int = 0
    late: int = 0
    overdue: int = 0
    in_progress: int = 0
    not_yet: int = 0

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.overdue + self.in_progress + self.not_yet

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, k) + getattr(other, k) for k in WORDS))

    def shown(self) -> list[tuple[str, str, int]]:
        """(outcome, its word, how many) for the outcomes there are."""
        return [(k, w, getattr(self, k)) for k, w in WORDS.items() if getattr(self, k)]

    def as_json(self) -> dict[str, int]:
        return {"total": self.total, **{k: getattr(self, k) for k in WORDS}}


def outcome_of(state: str, completed_on: dt.date | None, due: dt.date | None, opens: dt.date | None,
               as_of: dt.date) -> str | None:
    """One obligation's outcome as the public page counts it (None: cancelled or waived, not
    counted) — what `count_columns` does in SQL."""
    if state in ("waived", "cancelled"):
        return None
    if due is None:
        return "on_time" if completed_on is not None else "not_yet"
    kind = outcome(state, completed_on, due, as_of)
    if kind == "not_done":
        return "overdue"
    if kind == "in_progress" and opens is not None and opens > as_of:
        return "not_yet"
    return kind


def status_of(counts: Counts) -> tuple[str, str]:
    """A measure's status (code, words) from its obligations: one obligation — its outcome; several
    — the most pressing (overdue, then work under way), «выполнено» only when all are done."""
    if not counts.total:
        return "cancelled", CANCELLED
    if counts.overdue:
        code = "overdue"
    elif counts.in_progress or (counts.not_yet and counts.done):
        code = "in_progress"
    elif counts.not_yet:
        code = "not_yet"
    else:
        code = "late" if counts.late else "on_time"
    return code, WORDS[code]


@dataclass(frozen=True)
class Measure:
    key: str
    number: str
    shortcoming: str | None
    title: str
    deadline: str  # the plan's wording
    due_dates: list[dt.date]  # the planned dates (the first DUE_DATES_SHOWN)
    completed_on: dt.date | None  # the actual date: the last obligation's, when all are done
    status: str  # code: on_time | late | overdue | in_progress | not_yet | cancelled | none
    status_words: str
    responsible: list[str]  # positions and names of units and organisations, never people
    counts: Counts


@dataclass(frozen=True)
class Criterion:
    number: str
    criterion: int | None
    title: str
    counts: Counts
    measures: list[Measure]


@dataclass(frozen=True)
class PublicPlan:
    plan_id: str
    title: str
    kind: str
    organisation: str | None
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    totals: Counts
    sections: list[Criterion]
    campaign: tuple[str, str] | None = None  # (id, title) when the plan is in a public campaign


def count_columns(as_of: dt.date) -> tuple[Any, ...]:
    """One sum per outcome, for GROUP BY: `reports.model.outcome`'s conditions, «в работе» split
    by the opening day (an obligation without a date yet — a relative deadline — has not come)."""
    live = ob.state.not_in(("waived", "cancelled"))
    done = live & ob.completed_on.is_not(None)
    open_ = live & ob.completed_on.is_(None)
    opened = or_(ob.opens.is_(None), ob.opens <= as_of)

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (total(done & or_(ob.due.is_(None), ob.completed_on <= ob.due)),
            total(done & (ob.completed_on > ob.due)),
            total(open_ & (ob.due < as_of)),
            total(open_ & (ob.due >= as_of) & opened),
            total(open_ & or_(ob.due.is_(None), (ob.due >= as_of) & (ob.opens > as_of))))


def counts_of(values: Any) -> Counts:
    return Counts(*(int(v) for v in values))


def visible(engine: Engine, plan_id: str) -> bool:
    """Whether the plan's public page is open: the plan itself, or the public campaign it is in.
    An unknown plan is not. Asked on every view: reused for a second (store/fresh.py)."""

    def read() -> bool:
        with Session(engine) as session:
            row = session.execute(select(Plan.public, Campaign.public)
                                  .outerjoin(Campaign, Campaign.id == Plan.campaign_id).where(Plan.id == plan_id)).first()
        return row is not None and bool(row[0] or row[1])

    return remembered(("public-visible", str(engine.url), plan_id), 1.0, read)


def shown_plan(engine: Engine, plan_id: str, now: dt.datetime) -> PublicPlan:
    """`plan_view` as the pages ask it: a public page may be asked by many at once, so a view is
    reused for VIEW_TTL seconds (within the same minute of `now`) while this process writes nothing."""
    minute = now.replace(second=0, microsecond=0)
    return remembered(("public-plan", str(engine.url), plan_id, minute), VIEW_TTL, lambda: plan_view(engine, plan_id, now))


def _names(current: CurrentPlan) -> dict[str, str]:
    """What may be said of each owner: a person's position (or «ответственный работник»), a
    unit's, an organisation's or a group's name."""
    plan = current.loaded.plan
    names = {e.id: (e.position or NO_POSITION) if e.kind == "person" else e.name for e in plan.directory}
    names.update({o.id: o.name for o in plan.organisations})
    names.update({ALL_OF_GROUP + g.id: g.name for g in plan.groups})
    return names


def organisation_name(current: CurrentPlan) -> str | None:
    """Whose plan it is: its organisation; else its coordinator, when that is a unit (a person's
    name is never shown)."""
    plan = current.loaded.plan
    if plan.organisation:
        return _names(current).get(plan.organisation)
    entry = next((e for e in plan.directory if e.id == plan.coordinator), None)
    return entry.name if entry is not None and entry.kind == "unit" else None


def plan_view(engine: Engine, plan_id: str, now: dt.datetime) -> PublicPlan:
    """The plan's public page: its measures by criterion (section), each with its outcome."""
    current = current_plan(engine, plan_id)
    source = current.loaded.plan
    as_of = plan_day(now, source.timezone)
    live = (ob.plan_id == plan_id, Item.active)
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        campaign = session.get(Campaign, plan.campaign_id) if plan.campaign_id else None
        per_item = {row[0]: (counts_of(row[3:]), row[1], row[2]) for row in session.execute(
            select(Item.key, func.max(ob.completed_on), func.count(), *count_columns(as_of))
            .join(Item, Item.id == ob.item_id).where(*live).group_by(Item.key))}
        dues: dict[str, list[dt.date]] = defaultdict(list)
        for key, due in session.execute(select(Item.key, ob.due).join(Item, Item.id == ob.item_id).where(
                *live, ob.due.is_not(None), ob.state.not_in(("waived", "cancelled"))).distinct()
                                        .order_by(Item.key, ob.due)):
            if len(dues[key]) < DUE_DATES_SHOWN:
                dues[key].append(due)
    names = _names(current)
    shortcomings = {ci.key: ci.item.shortcoming for ci in current.loaded.compiled.items}
    by_section: dict[int, list[Measure]] = defaultdict(list)
    for item in current.described["items"]:
        key = item["key"]
        counts, newest, any_ = per_item.get(key, (Counts(), None, 0))
        code, words = status_of(counts) if any_ else ("none", NO_DATES)
        by_section[current.section_of[key]].append(Measure(
            key=key, number=str(item["number"]), shortcoming=shortcomings.get(key), title=item["title"],
            deadline=item["deadline"], due_dates=dues.get(key, []),
            completed_on=newest if code in ("on_time", "late") else None, status=code, status_words=words,
            responsible=list(dict.fromkeys(names.get(o["id"], NO_POSITION) for o in item["owners"])), counts=counts))
    sections = [Criterion(number=section.number or "", criterion=section.criterion, title=section.title,
                          counts=sum((m.counts for m in by_section[i]), Counts()), measures=by_section[i])
                for i, section in enumerate(source.sections) if by_section.get(i)]
    return PublicPlan(plan_id=plan_id, title=source.title, kind=source.kind, organisation=organisation_name(current),
                      as_of=as_of, period_start=source.period.start, period_end=source.period.end,
                      totals=sum((s.counts for s in sections), Counts()), sections=sections,
                      campaign=(campaign.id, campaign.title) if campaign is not None and campaign.public else None)
