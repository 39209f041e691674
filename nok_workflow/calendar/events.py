"""What a deadline's calendar event says: a pure function of the obligation's facts.

The UID names the store (its random id), the plan, the item and the obligation's row: the
row stays when an amendment moves its date, even into another period (a one-off «Декабрь»
that becomes «Ноябрь»), so the UID survives reloads, amendments and restarts and never meets
another store's. SEQUENCE is the obligation's revision and the stamps its last change, both kept
by the services that change it: the same facts give the same event, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from nok_workflow.calendar.ics import Deadline
from nok_workflow.policy import Policy
from nok_workflow.reminders import send_day
from nok_workflow.status import LABELS

# The state in front of the title, as a glance at a month view should tell it.
PREFIX = {"done": "✓ ", "done_late": "✓ ", "overdue": "⚠ ", "escalated": "⚠ ", "waived": "✗ "}
CLOSED = frozenset({"done", "done_late", "waived"})


@dataclass(frozen=True)
class EventFacts:
    store_id: str
    obligation_id: int
    plan_id: str
    plan_title: str
    timezone: str
    identity: str  # the item's id or full number: stable across amendments
    key: str  # the number people see
    title: str
    deadline_text: str
    period: str
    period_label: str
    org_id: str
    org_name: str | None  # in the summary when the feed is a whole plan's
    due: dt.date
    status: str  # as shown_status() gives it
    completed_on: dt.date | None
    owners: tuple[str, ...]  # names
    results: tuple[str, ...]
    link: str | None
    link_text: str  # what the link opens, e.g. «Загрузить документ»
    revision: int
    changed_at: dt.datetime
    policy: Policy | None  # its reminders, for alarms (None: no alarms)


def shown_status(state: str, completed_on: dt.date | None, due: dt.date | None, stored: str) -> str | None:
    """The status an event shows, or None when the obligation leaves calendars (cancelled).

    A completion shows at once (the sweep would record it within minutes); the rest is the
    status the daily sweep stored, so an event changes when the store does, not at midnight.
    """
    if state == "cancelled":
        return None
    if state == "waived":
        return "waived"
    if completed_on is not None:
        return "done_late" if due is not None and completed_on > due else "done"
    return stored


def uid(store_id: str, plan_id: str, identity: str, obligation_id: int) -> str:
    parts = (plan_id, identity, str(obligation_id))
    return "nok-" + "/".join(quote(p, safe="-._~") for p in parts) + f"@{store_id}.nok-workflow"


def _ru(day: dt.date) -> str:
    return f"{day.day:02}.{day.month:02}.{day.year:04}"


def deadline(f: EventFacts) -> Deadline:
    summary = f"{PREFIX.get(f.status, '')}{f.key} {f.title}" + (f" — {f.org_name}" if f.org_name else "")
    state = LABELS.get(f.status, f.status)
    if f.completed_on is not None and f.status in ("done", "done_late"):
        state += f" {_ru(f.completed_on)}"
    lines = [
        f"План: {f.plan_title}",
        f"Пункт {f.key}: {f.title}",
        f"Срок: {_ru(f.due)}" + (f" ({f.deadline_text})" if f.deadline_text else ""),
        f"Период: {f.period_label}",
        f"Исполнители: {', '.join(f.owners) or '—'}",
        f"Документ: {'; '.join(f.results) or '—'}",
        f"Состояние: {state}",
    ]
    if f.link:
        lines.append(f"{f.link_text}: {f.link}")
    return Deadline(uid=uid(f.store_id, f.plan_id, f.identity, f.obligation_id), day=f.due,
                    summary=summary, description="\n".join(lines), changed_at=f.changed_at,
                    sequence=f.revision, url=f.link, alarms=alarms(f))


def alarms(f: EventFacts) -> tuple[tuple[dt.datetime, str], ...]:
    """One alarm per reminder of the item's policy, on the day and hour the mail goes out,
    while there is something to do; none unless the plan asks (`reminders: calendar: true`)."""
    if f.policy is None or not f.policy.calendar_alarms or f.status in CLOSED:
        return ()
    zone, text = ZoneInfo(f.timezone), f"Срок {_ru(f.due)}: {f.key} {f.title}"
    moments = sorted({dt.datetime.combine(send_day(f.due, days, f.policy.reminder_working_days),
                                          dt.time(f.policy.hour), zone)
                      for days in f.policy.reminder_days})
    return tuple((m.astimezone(dt.UTC), text) for m in moments)
