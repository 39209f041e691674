"""The store's tables. The database is the source of truth for what is due, done and sent.

Shapes chosen for a region's scale (hundreds of thousands of obligations): integer keys,
one obligation row per item × period × organisation, and a partial index on the due date
of obligations still open, so "what is due in this window" is a range scan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, case, text
from sqlmodel import Field, SQLModel

from nok_workflow.plan.ids import NO_ORG


class Plan(SQLModel, table=True):
    __tablename__ = "plan"

    id: str = Field(primary_key=True, max_length=64)
    title: str
    timezone: str = Field(max_length=64)
    coordinator: str = Field(max_length=64)
    review_required: bool = False
    reminder_hour: int = 9  # local hour of the daily run; digests wait for it
    # The plan-local day of its latest run: a run at an earlier day (a stray --now, a real
    # clock in the middle of a simulation) would turn statuses back; it is refused.
    last_run_on: dt.date | None = None
    # Why the last scheduled run of `nok serve` failed or never started (None: it went
    # through), and since when: the plan's page says so instead of the run being lost.
    run_problem: str | None = None
    run_problem_since: dt.datetime | None = None
    current_version: int = 0
    created_at: dt.datetime
    # The last day of the plan's period: upload links stay valid until it plus a grace time.
    period_end: dt.date | None = None
    demo: bool = False  # a demo copy `nok serve` made on an empty store: its mail stays in files
    # The plan's own reminder and escalation policy (`policy.Policy` as JSON) at its current
    # version: `nok status` reads it instead of parsing the version's text.
    policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    kind: str = Field(default="plan", max_length=16)  # plan | shortcomings (the №457 form)
    organisation_id: str | None = Field(default=None, max_length=64)  # whose plan it is (`organisation:`)
    campaign_id: str | None = Field(default=None, max_length=64, index=True)
    public: bool = False  # its progress page is open to everyone (no personal data on it)


class Campaign(SQLModel, table=True):
    """An assessment campaign, e.g. «НОК 2024»: the plans of many organisations (one each, a
    shortcomings plan per assessed school) under one coordinator."""

    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=64, index=True)  # the coordinator's login
    title: str
    year: int
    created_at: dt.datetime
    public: bool = False  # the campaign's progress page is open to everyone


class PlanVersion(SQLModel, table=True):
    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", max_length=64, index=True)
    version: int
    sha256: str = Field(max_length=64)
    source_file: str
    source_text: str
    loaded_at: dt.datetime
    loaded_by: str = Field(max_length=64)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Party(SQLModel, table=True):
    """A person, a unit or an organisation of a plan's directory."""

    __tablename__ = "party"

    plan_id: str = Field(foreign_key="plan.id", primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(max_length=16)  # person | unit | organisation
    group_id: str | None = Field(default=None, max_length=64)
    email: str | None = None
    escalates_to: str | None = Field(default=None, max_length=64)
    active: bool = True
    # The coordinator's directory entry the address comes from (services/commands/directory.py):
    # set when the plan's own entry has no address; `email` then is that entry's.
    email_from: str | None = Field(default=None, max_length=64)
    mail_off: bool = False  # reminders only in the linked messengers, not by e-mail (while one is linked)


class DirectoryEntry(SQLModel, table=True):
    """A coordinator's own directory: addresses kept outside the plans' files, matched to a
    plan's parties by id or by name (services/commands/directory.py)."""

    __tablename__ = "directory_entry"
    # The page's order: a page of thousands of entries is an index range, not a sort.
    __table_args__ = (Index("ix_directory_entry_owner_name", "owner", "name", "id"),)

    owner: str = Field(primary_key=True, max_length=64)  # the coordinator's login
    id: str = Field(primary_key=True, max_length=64)  # the id space of plans' YAML ids
    kind: str = Field(max_length=16)  # person | unit | organisation | group
    name: str
    short_name: str | None = None
    email: str | None = Field(default=None, max_length=320)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    group_id: str | None = Field(default=None, max_length=64)
    code: str | None = Field(default=None, max_length=32)  # e.g. ИНН
    updated_at: dt.datetime
    # Id, names, address and code in lower case: what the page's search looks in (SQLite's
    # lower() and LIKE know no Cyrillic case).
    search: str = ""


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("plan_id", "identity"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", max_length=64, index=True)
    identity: str = Field(max_length=64)  # the item's `id:` or else its full number
    key: str = Field(max_length=32)
    number: str = Field(max_length=32)
    title: str
    deadline_text: str
    kind: str = Field(max_length=16)
    owners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    results: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    depends_on: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    relative: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    review_required: bool | None = None  # None: as the plan says
    position: int = 0
    active: bool = True
    first_version: int = 1
    last_version: int = 1
    # The item's resolved policy at the plan's current version (None: loaded before it was kept).
    policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # A digest of the obligations the item asks for (organisations × windows) as last loaded:
    # an amendment re-reads only the obligations of items whose digest changed.
    slots: str | None = Field(default=None, max_length=64)


# The partial indexes' conditions. A query meant to use one spells its condition the same
# way, literals included (services/jobs/sweep.py): SQLite matches them term by term.
OPEN_ROWS = "state = 'active' AND completed_on IS NULL"
UPCOMING_ROWS = "status = 'upcoming'"
CLOSED_ROWS = "state != 'active' OR completed_on IS NOT NULL"


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of the rows that meet `where`, on both databases."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class Obligation(SQLModel, table=True):
    """What an owner must produce for one item, period and (maybe) organisation.

    Only facts are stored: the window, the completion (date and evidence) and a manual
    state. The status shown to people is computed from them by `nok_workflow.status`.
    """

    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("item_id", "period", "org_id"),
        _partial("ix_obligation_open_due", "plan_id", "due", where=OPEN_ROWS),
        # The daily sweep reads each item's open obligations near their due date.
        _partial("ix_obligation_item_open_due", "item_id", "due", where=OPEN_ROWS),
        # The daily sweep's other candidates, each an index seek (services/jobs/sweep.py): open
        # obligations by cached status and level (newly overdue, a level to change, reopened)…
        _partial("ix_obligation_item_open_status", "item_id", "status", "level", "due", where=OPEN_ROWS),
        # …not yet started ones by the day they open…
        _partial("ix_obligation_item_upcoming", "item_id", "opens", where=f"{OPEN_ROWS} AND {UPCOMING_ROWS}"),
        # …and closed ones by cached status (closed since the last sweep). With the open one
        # it also counts an item's statuses from indexes alone.
        _partial("ix_obligation_item_closed", "item_id", "status", where=CLOSED_ROWS),
        # One organisation's obligations (`nok status --org`, its pages and feed).
        Index("ix_obligation_org", "org_id", "plan_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", max_length=64)
    # No index of its own: the unique (item_id, period, org_id) serves lookups by item.
    item_id: int = Field(foreign_key="item.id")
    period: str = Field(max_length=32)
    org_id: str = Field(default=NO_ORG, max_length=64)
    opens: dt.date | None = None
    due: dt.date | None = None
    state: str = Field(default="active", max_length=16)  # active | cancelled | waived
    state_reason: str | None = None
    completed_on: dt.date | None = None
    completed_by_evidence: int | None = None
    created_version: int = 1
    # The status as of the last sweep (for dashboards and to see what changed); the rules
    # in nok_workflow.status are the truth, this is their cached result.
    status: str = Field(default="upcoming", max_length=16)
    level: int = 0
    # Bumped, with the time, whenever what a calendar shows of it changes (due date, title,
    # status, state): the SEQUENCE and LAST-MODIFIED of its event (services/read/calendar_feed.py).
    revision: int = 0
    changed_at: dt.datetime | None = None


def touched(now: dt.datetime) -> dict[str, Any]:
    """The values an UPDATE of obligations sets when what their calendar events show changes.
    Touched twice in one change (a plan amendment moves a date and rewords it) counts once."""
    return {"revision": case((Obligation.changed_at == now, Obligation.revision), else_=Obligation.revision + 1),
            "changed_at": now}


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True)
    sha256: str | None = Field(default=None, max_length=64)
    file_name: str | None = None
    size: int | None = None
    media_type: str | None = Field(default=None, max_length=128)
    url: str | None = None
    submitted_by: str = Field(max_length=64)
    submitted_at: dt.datetime
    document_date: dt.date
    review: str = Field(default="pending", max_length=16)  # pending | accepted | rejected
    comment: str | None = None  # the submitter's note to the coordinator


class Review(SQLModel, table=True):
    __tablename__ = "review"

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    decision: str = Field(max_length=16)  # accepted | rejected
    reason: str | None = None
    reviewed_by: str = Field(max_length=64)
    reviewed_at: dt.datetime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_plan_at", "plan_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    plan_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Outbox(SQLModel, table=True):
    """A message to deliver: a row with a unique key before any delivery, so a crash, a retry
    or two sweeps at once never queue a message twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # e.g. ob:42:reminder:3:otdel
    plan_id: str = Field(max_length=64, index=True)
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    kind: str = Field(max_length=32)  # reminder | escalation | …
    step: int = 0  # days before due (reminder) or escalation level
    recipient: str = Field(max_length=64)
    day: dt.date  # the plan-local day it was queued for (digests group by it)
    created_at: dt.datetime
    status: str = Field(default="queued", max_length=16)  # queued | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    mail_id: int | None = Field(default=None, foreign_key="mail.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChatLink(SQLModel, table=True):
    """A messenger chat linked to a party of a plan: its digests and escalations go there too.
    Unlinked rows stay (with why), so the page can say «бот заблокирован»."""

    __tablename__ = "chat_link"
    __table_args__ = (Index("ix_chat_link_party", "plan_id", "party_id"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(max_length=64)
    party_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)  # telegram | max
    chat_id: str = Field(max_length=64)
    linked_at: dt.datetime
    unlinked_at: dt.datetime | None = None
    unlink_reason: str | None = Field(default=None, max_length=16)  # page | stop | blocked


class ChatStart(SQLModel, table=True):
    """A one-time start token of a deep link (`/start <token>`): only its SHA-256 is kept."""

    __tablename__ = "chat_start"

    token_hash: str = Field(primary_key=True, max_length=64)
    plan_id: str = Field(max_length=64)
    party_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


class BotState(SQLModel, table=True):
    """One row per messenger: where its long polling stands and who polls (a lease, so that of
    several processes one polls), and the bot's name from getMe / me."""

    __tablename__ = "bot_state"

    channel: str = Field(primary_key=True, max_length=16)
    offset: str | None = Field(default=None, max_length=64)  # Telegram update_id + 1, MAX marker
    poller: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = None
    username: str | None = Field(default=None, max_length=64)
    updated_at: dt.datetime


class Mail(SQLModel, table=True):
    """One message of a person's day: a digest by e-mail, or in a linked messenger chat. Unique
    per address and day, so no channel gets more than one a day; its outbox rows say what it
    lists. A messenger's address is «<channel>:<chat id>», so addresses never collide."""

    __tablename__ = "mail"
    __table_args__ = (UniqueConstraint("address", "day"), Index("ix_mail_ready", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="email", max_length=16)  # email | telegram | max
    parts_sent: int = 0  # a messenger's message of several parts: so many went out (a resend goes on from there)
    address: str = Field(max_length=320)  # an e-mail address, or «telegram:<chat id>» / «max:<chat id>»
    name: str
    day: dt.date
    status: str = Field(default="pending", max_length=16)  # pending | sending | retry | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime
    claimed_at: dt.datetime | None = None
    claim: str | None = Field(default=None, max_length=32)
    smtp_response: str | None = None
    error: str | None = None
    message_id: str | None = Field(default=None, max_length=200)
    subject: str | None = None
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


class ServiceHealth(SQLModel, table=True):
    """How an outside service answered last time (e.g. the SMTP server), for `nok status`
    and `nok outbox list`: one row per service, overwritten by each run that tried it."""

    __tablename__ = "service_health"

    name: str = Field(primary_key=True, max_length=32)  # smtp
    ok: bool = True
    message: str | None = None
    since: dt.datetime  # when it entered this state
    checked_at: dt.datetime


class Account(SQLModel, table=True):
    """A coordinator who signs in to the web pages. The login is the coordinator's id in the
    plans' directories: the pages act on the plans whose `coordinator` it is, through the
    same service calls as `nok … --by <login>`."""

    __tablename__ = "account"

    login: str = Field(primary_key=True, max_length=64)
    name: str
    email: str | None = Field(default=None, max_length=320)
    password_hash: str | None = None  # argon2; None: signs in by a one-time link only
    active: bool = True
    created_at: dt.datetime


class WebSession(SQLModel, table=True):
    """A signed-in browser. Only the token's SHA-256 is stored: a copy of the database does
    not let anyone in."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    login: str = Field(foreign_key="account.login", max_length=64, index=True)
    created_at: dt.datetime
    expires_at: dt.datetime


class LoginLink(SQLModel, table=True):
    """A one-time sign-in link sent by email (hashed, short-lived, used once)."""

    __tablename__ = "login_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    login: str = Field(foreign_key="account.login", max_length=64)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


class ApiToken(SQLModel, table=True):
    """A token another system pushes evidence with, acting as one party of one plan (or as a
    coordinator). Stored hashed; shown once when made; revocable."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str
    plan_id: str | None = Field(default=None, max_length=64)  # None: every plan the actor may act on
    actor: str = Field(max_length=64)  # the party (or coordinator login) it acts as
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class LinkRevision(SQLModel, table=True):
    """A party's upload link is signed with its revision: revoking bumps it, so the old link
    dies and the next digest carries the new one."""

    __tablename__ = "link_revision"

    plan_id: str = Field(primary_key=True, max_length=64)
    party_id: str = Field(primary_key=True, max_length=64)
    revision: int = 0
    revoked_at: dt.datetime | None = None


class StoreMeta(SQLModel, table=True):
    """Facts about the store itself, e.g. its random id: calendar UIDs carry it, so two
    stores (two municipalities, next year's) never make the same UID."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True, max_length=32)
    value: str


class CalendarFeed(SQLModel, table=True):
    """A subscription to a calendar of deadlines: one plan, or one owner or organisation (in
    one plan or in all). Only the token's SHA-256 is stored; revoking ends it."""

    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str  # what the subscriber calls it, e.g. «телефон»
    plan_id: str | None = Field(default=None, max_length=64)  # None: every plan the party is in
    party_id: str | None = Field(default=None, max_length=64)  # None: the whole plan
    created_by: str = Field(max_length=64)
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class PlanDraft(SQLModel, table=True):
    """A plan document read in the browser, before it is a plan: what was understood and the
    coordinator's corrections (`importer/draft.py` gives the content's shape). The document
    itself is not kept; a draft is its owner's alone and lasts a week."""

    __tablename__ = "plan_draft"

    id: str = Field(primary_key=True, max_length=64)  # random, URL-safe
    owner: str = Field(max_length=64, index=True)
    created_at: dt.datetime
    expires_at: dt.datetime
    source_name: str
    state: str = Field(default="open", max_length=16)  # open | applied
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    base_version: int = 0  # the plan's version when the draft was made (0: a new plan)
    plan_id: str | None = Field(default=None, max_length=64)  # set when applied
    applied_version: int | None = None
    campaign_id: str | None = Field(default=None, max_length=64)  # uploaded into a campaign
