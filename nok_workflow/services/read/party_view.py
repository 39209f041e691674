"""What an executor's page shows: their obligations in one plan, each with its status for
today, the documents already given and how they were reviewed.

A handful of queries whatever the store's size: the plan's items (tens) are filtered in
Python, then the party's obligations by item id, their evidence, its reviews and the names
of other uploaders, one query each. Statuses come from the pure rules (`status.status_of`)
with each item's policy, as `nok status` computes them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.clock import plan_day, plan_time
from nok_workflow.expand import obligation_owners
from nok_workflow.plan import form457
from nok_workflow.plan.compiled import ALL_OF_GROUP
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.services.read.links import expires_on
from nok_workflow.services.read.obligations import plan_policies
from nok_workflow.status import ObligationFact, status_of
from nok_workflow.store.models import NO_ORG, Evidence, Item, Obligation, Party, Plan, Review
from nok_workflow.text import days_phrase

# The page's sections, most urgent first, as the digest orders them; done ones go last,
# folded; waived and cancelled obligations are not shown at all.
GROUPS = (
    ("late", "Просрочено"),
    ("today", "Срок сегодня"),
    ("soon", "Скоро срок"),
    ("open", "Открыто"),
    ("upcoming", "Ещё не начато"),
)
HIDDEN = frozenset({"waived", "cancelled"})
KINDS = {"person": "сотрудник", "unit": "подразделение", "organisation": "организация"}


@dataclass(frozen=True)
class Upload:
    id: int
    file_name: str | None
    size: int | None
    url: str | None
    document_date: dt.date
    submitted_at: dt.datetime  # in the plan's time zone
    submitted_by: str  # a name when the directory knows it
    review: str  # pending | accepted | rejected
    reason: str | None  # why it was rejected
    comment: str | None

    @property
    def size_text(self) -> str:
        return short_size(self.size) if self.size is not None else ""


def short_size(n: int) -> str:
    """«812 байт», «45 КБ», «3,2 МБ» (evidence_files.human_size adds the exact byte count)."""
    if n < 1024:
        return f"{n} байт"
    kb = n / 1024
    return (f"{kb:.0f} КБ" if kb < 1024 else f"{kb / 1024:.1f} МБ").replace(".0 ", " ").replace(".", ",")


@dataclass
class Card:
    """One obligation of the party."""

    id: int
    key: str
    title: str
    results: list[str]
    period: str
    period_label: str
    opens: dt.date | None
    due: dt.date | None
    status: str
    level: int
    days_text: str
    completed_on: dt.date | None
    review_required: bool
    accepting: bool  # a document can be given today (its window has opened)
    uploads: list[Upload] = field(default_factory=list)
    sort: tuple = ()
    shortcoming: str | None = None  # what the independent assessment found (a shortcomings plan)

    @property
    def in_review(self) -> bool:
        """A document waits for the coordinator: nothing to do until they decide."""
        return self.review_required and any(u.review == "pending" for u in self.uploads)


@dataclass
class Section:
    key: str
    title: str
    cards: list[Card]


@dataclass
class PartyView:
    plan: Plan
    party: Party
    group_name: str | None
    today: dt.date
    expires: dt.date | None
    sections: list[Section]  # not done yet, most urgent first; empty sections left out
    done: list[Card]

    @property
    def kind(self) -> str:
        return KINDS.get(self.party.kind, self.party.kind)

    def count(self, *keys: str) -> int:
        return sum(len(s.cards) for s in self.sections if s.key in keys)

    def cards(self) -> list[Card]:
        return [c for s in self.sections for c in s.cards] + self.done

    def card(self, obligation_id: int) -> Card | None:
        return next((c for c in self.cards() if c.id == obligation_id), None)

    def upload(self, evidence_id: int) -> tuple[Card, Upload] | None:
        return next(((c, u) for c in self.cards() for u in c.uploads if u.id == evidence_id), None)


def plan_today(engine: Engine, plan_id: str, now: dt.datetime) -> dt.date:
    """The plan's own calendar day at `now` (UTC's for a plan that does not exist)."""
    with Session(engine) as session:
        timezone = session.execute(select(Plan.timezone).where(Plan.id == plan_id)).scalar()
    return plan_day(now, timezone or "UTC")


def _mine(party_id: str, ob: Obligation, item: Item) -> bool:
    return party_id in obligation_owners(ob.org_id, item.owners)


def party_items(session: Session, plan_id: str, party: Party, *, removed: bool = False) -> dict[int, Item]:
    """The plan's items the party may answer for: named in their owners, or through its group;
    with `removed`, also items an amendment took out (their done obligations still count)."""
    refs = {party.id} | ({ALL_OF_GROUP + party.group_id} if party.group_id else set())
    query = select(Item).where(Item.plan_id == plan_id)
    items = session.execute(query if removed else query.where(Item.active)).scalars().all()
    return {i.id: i for i in items if refs & set(i.owners)}


def own_obligation(engine: Engine, plan_id: str, party_id: str, obligation_id: int) -> tuple[Item, Obligation] | None:
    with Session(engine) as session:
        row = session.execute(
            select(Item, Obligation).join(Obligation, Obligation.item_id == Item.id)
            .where(Obligation.id == obligation_id, Obligation.plan_id == plan_id, Item.active)).first()
        if row is None or not _mine(party_id, row.Obligation, row.Item):
            return None
        session.expunge_all()
        return row.Item, row.Obligation


def own_evidence(engine: Engine, plan_id: str, party_id: str, evidence_id: int) -> Evidence | None:
    """A document of one of the party's obligations (theirs, or given for them by the coordinator)."""
    with Session(engine) as session:
        row = session.execute(
            select(Evidence, Obligation, Item).join(Obligation, Obligation.id == Evidence.obligation_id)
            .join(Item, Item.id == Obligation.item_id)
            .where(Evidence.id == evidence_id, Obligation.plan_id == plan_id)).first()
        if row is None or not _mine(party_id, row.Obligation, row.Item):
            return None
        session.expunge_all()
        return row.Evidence


def load(engine: Engine, plan: Plan, party: Party, today: dt.date, grace_days: int) -> PartyView:
    with Session(engine) as session:
        items = party_items(session, plan.id, party)
        orgs = [party.id, NO_ORG] if party.kind == "organisation" else [NO_ORG]
        obligations = [ob for ob in session.execute(
            select(Obligation).where(Obligation.item_id.in_(list(items)), Obligation.org_id.in_(orgs))
        ).scalars() if _mine(party.id, ob, items[ob.item_id])] if items else []
        policies = plan_policies(session, [plan.id]) if obligations else {}
        uploads = _uploads(session, plan, [ob.id for ob in obligations])
        group = session.get(Party, (plan.id, ALL_OF_GROUP + party.group_id)) if party.group_id else None
        expires = expires_on(session, plan, grace_days)
    sections: dict[str, list[Card]] = {key: [] for key, _ in GROUPS}
    done: list[Card] = []
    found = _shortcomings(engine, plan) if obligations else {}
    for ob in obligations:
        item = items[ob.item_id]
        policy = policies.get((plan.id, item.identity)) or policies[(plan.id, "")]
        st = status_of(ObligationFact(ob.opens, ob.due, ob.state), ob.completed_on, today, policy)
        if st.status in HIDDEN:
            continue
        review_required = plan.review_required if item.review_required is None else item.review_required
        card = Card(
            id=ob.id, key=item.key, title=item.title, results=list(item.results), period=ob.period,
            period_label=period_label(ob.period), opens=ob.opens, due=ob.due, status=st.status, level=st.level,
            days_text=days_phrase(ob.due, today) if ob.due and st.status not in ("done", "done_late") else "",
            completed_on=ob.completed_on, review_required=review_required,
            accepting=ob.state == "active" and (ob.opens is None or ob.opens <= today),
            uploads=uploads.get(ob.id, []), sort=(ob.due or dt.date.max, item.position, ob.period),
            shortcoming=found.get(item.key))
        if st.status in ("done", "done_late"):
            done.append(card)
        else:
            sections[_section(st.status, st.days)].append(card)
    return PartyView(
        plan=plan, party=party, group_name=group.name if group else None, today=today, expires=expires,
        sections=[Section(key, title, sorted(sections[key], key=lambda c: c.sort)) for key, title in GROUPS
                  if sections[key]],
        done=sorted(done, key=lambda c: c.sort))


def _shortcomings(engine: Engine, plan: Plan) -> dict[str, str]:
    """Each measure's shortcoming, by item key: kept in the plan's text, not in the store."""
    if plan.kind != form457.KIND:
        return {}
    return {ci.key: ci.item.shortcoming for ci in current_plan(engine, plan.id).loaded.compiled.items
            if ci.item.shortcoming}


def _section(status: str, days: int | None) -> str:
    if status in ("overdue", "escalated"):
        return "late"
    if days == 0 and status in ("due_soon", "open"):
        return "today"
    return {"due_soon": "soon", "open": "open"}.get(status, "upcoming")


def _uploads(session: Session, plan: Plan, obligation_ids: list[int]) -> dict[int, list[Upload]]:
    """The obligations' documents, newest first, with the reason of each one's latest review."""
    if not obligation_ids:
        return {}
    rows = session.execute(select(Evidence).where(Evidence.obligation_id.in_(obligation_ids))
                           .order_by(Evidence.id.desc())).scalars().all()
    reviews: dict[int, Review] = {}
    if rows:
        for r in session.execute(select(Review).where(Review.evidence_id.in_([e.id for e in rows]))
                                 .order_by(Review.id)).scalars():
            reviews[r.evidence_id] = r  # the latest wins
    submitters = {e.submitted_by for e in rows}
    names = dict(session.execute(select(Party.id, Party.name).where(
        Party.plan_id == plan.id, Party.id.in_(submitters))).all()) if submitters else {}
    found: dict[int, list[Upload]] = {}
    for e in rows:
        review = reviews.get(e.id)
        at = e.submitted_at if e.submitted_at.tzinfo else e.submitted_at.replace(tzinfo=dt.UTC)
        found.setdefault(e.obligation_id, []).append(Upload(
            id=e.id, file_name=e.file_name if e.sha256 else None, size=e.size, url=e.url,
            document_date=e.document_date, submitted_at=plan_time(at, plan.timezone),
            submitted_by=names.get(e.submitted_by, e.submitted_by), review=e.review,
            reason=review.reason if review is not None and review.decision == "rejected" else None,
            comment=e.comment))
    return found


MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь")
ROMAN = ("I", "II", "III", "IV")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_HALF = re.compile(r"(\d{4})-H([12])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_YEAR = re.compile(r"\d{4}")
_DAY = re.compile(r"(\d{4})-(\d\d)-(\d\d)")


def period_label(period: str) -> str:
    """«III квартал 2024», «октябрь–декабрь 2024», «без срока»; an unknown form as it is."""
    if period == "unscheduled":
        return "без срока"
    if m := _QUARTER.fullmatch(period):
        return f"{ROMAN[int(m[2]) - 1]} квартал {m[1]}"
    if m := _HALF.fullmatch(period):
        return f"{m[2]}-е полугодие {m[1]}"
    if _YEAR.fullmatch(period):
        return f"{period} год"
    if m := _DAY.fullmatch(period):
        return f"{m[3]}.{m[2]}.{m[1]}"
    first, _, last = period.partition("/")
    a, b = _MONTH.fullmatch(first), _MONTH.fullmatch(last) if last else None
    if a and not last:
        return f"{MONTHS[int(a[2]) - 1]} {a[1]}"
    if a and b:
        if a[1] == b[1]:
            return f"{MONTHS[int(a[2]) - 1]}–{MONTHS[int(b[2]) - 1]} {a[1]}"
        return f"{MONTHS[int(a[2]) - 1]} {a[1]} – {MONTHS[int(b[2]) - 1]} {b[1]}"
    return period
