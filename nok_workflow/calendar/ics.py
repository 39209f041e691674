"""iCalendar bytes with the icalendar package: one VEVENT per deadline, and calendars
assembled from already serialised events, so a feed of thousands whose events did not
change costs a join, not thousands of serialisations.

Every time in the output comes from the data (the obligation's last change), never from
the clock: the same data gives the same bytes, which is what makes ETags work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from icalendar import Alarm, Calendar, Event

PRODID = "-//nok-workflow//Сроки НОК//RU"
_END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class Deadline:
    """One all-day event: an obligation's due date."""

    uid: str
    day: dt.date
    summary: str
    description: str
    changed_at: dt.datetime  # its last change, UTC: DTSTAMP and LAST-MODIFIED
    sequence: int = 0
    url: str | None = None
    alarms: tuple[tuple[dt.datetime, str], ...] = ()  # (moment in UTC, text)


def event_bytes(d: Deadline) -> bytes:
    """BEGIN:VEVENT … END:VEVENT, folded at 75 octets, CRLF line ends.

    The bytes icalendar's Event.to_ical() gives (tests compare them on every seed plan and
    on generated text), written directly: the package's generic path costs ~0.5 ms an
    event, which a cold feed of thousands would pay in full. Events with alarms (rare,
    opt-in) go through the package itself.
    """
    if d.alarms:
        return icalendar_event_bytes(d)
    stamp = _moment(d.changed_at)
    lines = [
        "BEGIN:VEVENT",
        "SUMMARY:" + _text(d.summary),
        "DTSTART;VALUE=DATE:" + d.day.strftime("%Y%m%d"),
        "DTEND;VALUE=DATE:" + (d.day + dt.timedelta(days=1)).strftime("%Y%m%d"),
        "DTSTAMP:" + stamp,
        "UID:" + _text(d.uid),
        f"SEQUENCE:{d.sequence}",
        "DESCRIPTION:" + _text(d.description),
        "LAST-MODIFIED:" + stamp,
        "TRANSP:TRANSPARENT",
    ]
    if d.url:
        lines.append("URL:" + d.url)
    lines.append("END:VEVENT")
    return b"".join(_fold(line.encode()) for line in lines)


def _moment(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """TEXT escaping exactly as icalendar's (RFC 5545 3.3.11; the order matters)."""
    return (value.replace(r"\N", "\n").replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,")
            .replace("\r\n", r"\n").replace("\n", r"\n").replace("\r", r"\n"))


def _fold(line: bytes) -> bytes:
    """A content line folded as icalendar folds it: at most 74 octets before each CRLF,
    never inside a UTF-8 character, and an escape (\\ or ^) kept with what it escapes."""
    if len(line) < 75:
        return line + b"\r\n"
    parts, start, end = [], 0, len(line)
    while end - start > 74:
        cut = start + 74
        while line[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: the character began earlier
            cut -= 1
        if line[cut - 1] in b"\\^" and cut - 1 > start:
            cut -= 1
        parts.append(line[start:cut])
        start = cut
    parts.append(line[start:])
    return b"\r\n ".join(parts) + b"\r\n"


def icalendar_event_bytes(d: Deadline) -> bytes:
    """The same event made with icalendar's Event (alarms included)."""
    event = Event()
    stamp = d.changed_at.astimezone(dt.UTC)
    event.add("uid", d.uid)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("sequence", d.sequence)
    event.add("dtstart", d.day)
    event.add("dtend", d.day + dt.timedelta(days=1))  # the end of an all-day event is exclusive
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    event.add("summary", d.summary)
    event.add("description", d.description)
    if d.url:
        event.add("url", d.url)
    for moment, text in d.alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        alarm.add("trigger", moment.astimezone(dt.UTC), parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
    return event.to_ical()


@lru_cache(maxsize=256)
def _head(name: str, timezone: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    # How often subscribers should fetch it again (RFC 7986, and Outlook's older name).
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    whole = cal.to_ical()
    assert whole.endswith(_END)
    return whole[: -len(_END)]


def calendar_from_events(events: Iterable[bytes], name: str, timezone: str) -> bytes:
    """A VCALENDAR around serialised events (no METHOD: a published feed, not an invitation)."""
    return b"".join((_head(name, timezone), *events, _END))


def calendar_bytes(deadlines: Iterable[Deadline], name: str, timezone: str) -> bytes:
    return calendar_from_events((event_bytes(d) for d in deadlines), name, timezone)
