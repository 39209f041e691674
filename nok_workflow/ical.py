"""Calendar events for deadlines (icalendar). UIDs are stable per obligation, so a calendar
that imports the same deadline twice updates it instead of duplicating it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from icalendar import Calendar, Event


@dataclass(frozen=True)
class Deadline:
    uid: str
    day: dt.date
    summary: str
    description: str
    url: str | None = None


def calendar_bytes(deadlines: list[Deadline], now: dt.datetime, name: str = "Сроки НОК") -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//nok-workflow//RU")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for d in deadlines:
        event = Event()
        event.add("uid", d.uid)
        event.add("dtstamp", now)
        event.add("dtstart", d.day)
        event.add("dtend", d.day + dt.timedelta(days=1))
        event.add("summary", d.summary)
        event.add("description", d.description)
        if d.url:
            event.add("url", d.url)
        cal.add_component(event)
    return cal.to_ical()
