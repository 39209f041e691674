"""The demo plan `nok serve` loads into an empty store, so the first page is a living plan.

The bundled Orenburg plan, moved to this year and made unmistakably a demo: id `…-demo`,
title «ДЕМО: …», `Plan.demo`, and every address at `demo.invalid` (RFC 2606: never
delivered; notifiers/routing.py keeps such mail in the outbox folder even with SMTP
configured). Items long past their date get demo evidence, all but the last one or two,
so done, overdue and open items show at once. Deterministic for a given moment.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from nok_workflow.clock import plan_day
from nok_workflow.expand import obligation_owners
from nok_workflow.plan import source
from nok_workflow.plan.rollover import rollover_text
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.services.commands import evidence, plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.settings import Settings
from nok_workflow.store.db import write_session
from nok_workflow.store.models import Item, Obligation, Plan

BUNDLED = Path(__file__).resolve().parents[3] / "plan_definitions" / "orenburg-raion-2024.yaml"
DEMO_DOMAIN = "demo.invalid"
TITLE_PREFIX = "ДЕМО: "
EVIDENCE_URL = "https://example.org/demo/"
SETTLED_AFTER = dt.timedelta(days=21)  # due longer ago than this: done in the demo, but for the last few


def make_demo(engine: Engine, now: dt.datetime, settings: Settings) -> str:
    """Load the demo plan (if it is not there yet); its id."""
    text = source.read_text(BUNDLED)
    bundled = validate_document(source.parse(text, str(BUNDLED))).plan
    year = demo_year(bundled.period.start, plan_day(now, bundled.timezone))
    if year != bundled.period.start.year:
        text = rollover_text(text, str(BUNDLED), year).new_text
    text = as_demo(text)
    loaded = validate_document(source.parse(text, "demo.yaml"))
    plan_id = loaded.plan.id
    _check_addresses(loaded)
    with Session(engine) as session:
        if session.get(Plan, plan_id) is not None:
            return plan_id
    plans.load(engine, Path(f"{plan_id}.yaml"), actor=None, now=now, read=(loaded, text))
    with write_session(engine) as session:
        session.execute(update(Plan).where(Plan.id == plan_id).values(demo=True))
    _record_evidence(engine, settings, plan_id, now)
    plan_run.run(engine, settings, plan_id, now)
    return plan_id


def demo_year(start: dt.date, today: dt.date) -> int:
    """The plan-local year — or the year before while this year's period has not begun: a
    demo with nothing started yet would show nothing but «ещё не начато»."""
    try:
        started = today >= start.replace(year=today.year)
    except ValueError:  # a period starting on 29 February, in a common year
        started = today >= dt.date(today.year, 3, 1)
    return today.year if started else today.year - 1


def as_demo(text: str) -> str:
    """The plan text marked as a demo: id, title, and every address at demo.invalid."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000
    yaml.indent(mapping=2, sequence=4, offset=2)  # the bundled file's own layout
    data = yaml.load(text)
    data["id"] = f"{data['id']}-demo"
    data["title"] = TITLE_PREFIX + " ".join(str(data["title"]).split())
    for entry in [*(data.get("directory") or []), *(data.get("organisations") or [])]:
        if entry.get("email"):
            entry["email"] = f"{str(entry['email']).rpartition('@')[0]}@{DEMO_DOMAIN}"
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _check_addresses(loaded: LoadedPlan) -> None:
    """The demo must never mail anyone: a field the plan format gains later must not slip by."""
    plan = loaded.plan
    for entry in [*plan.directory, *plan.organisations]:
        if entry.email and not entry.email.endswith("@" + DEMO_DOMAIN):
            raise ValueError(f"demo plan address outside {DEMO_DOMAIN}: {entry.email}")


def _record_evidence(engine: Engine, settings: Settings, plan_id: str, now: dt.datetime) -> None:
    """Demo links for obligations long past due, by each one's owner; the latest one or two
    stay overdue."""
    with Session(engine) as session:
        timezone = session.get(Plan, plan_id).timezone
        today = plan_day(now, timezone)
        rows = session.execute(
            select(Item.identity, Item.key, Item.owners, Obligation.period, Obligation.org_id,
                   Obligation.opens, Obligation.due)
            .join(Item, Item.id == Obligation.item_id)
            .where(Obligation.plan_id == plan_id, Obligation.state == "active",
                   Obligation.completed_on.is_(None), Obligation.due < today - SETTLED_AFTER)
            .order_by(Obligation.due, Item.position, Obligation.period, Obligation.org_id)).all()
    left_overdue = 0 if not rows else 1 if len(rows) <= 3 else 2
    for n, row in enumerate(rows[:len(rows) - left_overdue]):
        owners = obligation_owners(row.org_id, row.owners)
        if not owners:
            continue
        # Signed on the due date or a few days before it, never before the item opened.
        signed = row.due - dt.timedelta(days=n % 4)
        if row.opens is not None:
            signed = max(signed, row.opens)
        evidence.submit(engine, settings.evidence_dir, plan_id=plan_id, item=row.identity, by=owners[0],
                        now=now, period=row.period, org=row.org_id,
                        url=f"{EVIDENCE_URL}{plan_id}/{row.key}/{row.period}", document_date=signed,
                        comment="Демо: документ для примера")
