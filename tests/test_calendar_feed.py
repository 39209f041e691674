"""Calendar feeds as subscribers get them: what a feed holds, its bytes, UIDs, SEQUENCE and
stamps through amendments, statuses and alarms, the iCalendar format as three parsers read
it (icalendar, recurring_ical_events, ical.js), and the `nok feed` / `nok ical` commands.

Service and CLI level; the HTTP side is tests/test_web_*. Store tests run on SQLite and
PostgreSQL (the `engine` fixture). ical.js comes from `npm ci --prefix tests/js`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import create_engine, select
from sqlmodel import Session

from nok_workflow.calendar import ics
from nok_workflow.reminders import send_day
from nok_workflow.services.read import calendar_feed
from nok_workflow.services.commands import feeds, links, plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read.calendar_feed import Scope
from nok_workflow.services.commands.evidence import submit, waive
from nok_workflow.store.db import connect
from nok_workflow.store.models import NO_ORG, Item, Obligation, Party, StoreMeta
from nok_workflow.tokens import upload_link
from tests.support.cli import run_nok
from tests.support.paths import PLANS, ROOT
from tests.support.postgres import PG_ADMIN, postgres_database

BASE = "https://nok.example.org"
KEY = b"k" * 32
JS = ROOT / "tests" / "js"

ORENBURG = "orenburg-raion-2024"
GOROD = "gorod-2018"
INFORMING = "informing-2026"
YUZHNO = "yuzhno-sakhalinsk-2014-2016"
# Each seed plan and a moment to load it at (before its first deadline).
SEEDS = {
    ORENBURG: "2024-09-17",
    GOROD: "2018-01-09",
    INFORMING: "2026-01-12",
    YUZHNO: "2014-09-01",
}

UID = re.compile(r"nok-(?P<path>[^@]+)@(?P<store>[0-9a-f]+)\.nok-workflow")
PREFIXES = ("✓ ", "⚠ ", "✗ ")


# --- moments, plans and feeds ---------------------------------------------------------------

def at(day: str, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """A UTC moment as iCalendar writes it (DTSTAMP, LAST-MODIFIED, TRIGGER)."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def load_seed(engine, plan_id: str) -> None:
    result = plans.load(engine, PLANS / f"{plan_id}.yaml", actor=None, now=at(SEEDS[plan_id]))
    assert result.applied


def plan_copy(tmp_path: Path, plan_id: str, *edits: tuple[str, str], name: str = "amended.yaml") -> Path:
    """The seed plan with each (old, new) replaced — each `old` must occur exactly once."""
    source = (PLANS / f"{plan_id}.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert source.count(old) == 1, f"the seed {plan_id} changed: {old!r} is not there exactly once"
        source = source.replace(old, new)
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path


def build(engine, plan_id: str | None, party: str | None = None) -> calendar_feed.Feed:
    return calendar_feed.build(engine, Scope(plan_id, party), base_url=BASE, key=KEY)


def write(tmp_path: Path, body: bytes, name: str = "feed.ics") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


# --- reading the bytes by hand (what the format promises, independent of any parser) --------

def unfold(data: bytes) -> str:
    return data.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode("utf-8")


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def vevents(body: bytes) -> dict[str, bytes]:
    """The raw VEVENT blocks by UID (each UID once)."""
    blocks = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, re.DOTALL)
    found: dict[str, bytes] = {}
    for block in blocks:
        uid = event_props(block)["UID"]
        assert uid not in found, f"UID {uid} twice in one feed"
        found[uid] = block
    return found


def event_props(block: bytes) -> dict[str, str]:
    """A VEVENT's own properties (not its alarms'), unfolded: «NAME;PARAMS» → raw value."""
    props: dict[str, str] = {}
    depth = 0
    for line in unfold(block).split("\r\n"):
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
        elif line and depth == 1:
            name, _, value = line.partition(":")
            assert name not in props, f"{name} twice in one event"
            props[name] = value
    return props


def triggers(block: bytes) -> list[str]:
    """The raw TRIGGER lines of an event's alarms."""
    return [line for line in unfold(block).split("\r\n") if line.startswith("TRIGGER")]


def day_of(props: dict[str, str], name: str) -> dt.date:
    value = props[f"{name};VALUE=DATE"]  # all-day: a DATE, never a DATE-TIME
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def uid_parts(uid: str) -> tuple[str, tuple[str, str, str]]:
    """(store id, (plan, item identity, obligation row id)) of a feed's UID."""
    m = UID.fullmatch(uid)
    assert m, f"not a nok UID: {uid}"
    plan, identity, row = [unquote(p) for p in m["path"].split("/")]
    assert row.isdigit(), uid
    return m["store"], (plan, identity, row)


def feed_keys(body: bytes) -> set[tuple[tuple[str, str, str], dt.date]]:
    return {(uid_parts(uid)[1], day_of(event_props(block), "DTSTART")) for uid, block in vevents(body).items()}


def by_summary(body: bytes, start: str) -> list[tuple[str, bytes]]:
    """The (UID, block) of events whose SUMMARY (status prefix aside) starts with `start`."""
    def bare(summary: str) -> str:
        return summary[2:] if summary.startswith(PREFIXES) else summary
    return [(uid, block) for uid, block in vevents(body).items()
            if bare(unescape(event_props(block)["SUMMARY"])).startswith(start)]


def one(body: bytes, start: str) -> tuple[str, dict[str, str], bytes]:
    found = by_summary(body, start)
    assert len(found) == 1, f"{len(found)} events start with {start!r}"
    uid, block = found[0]
    return uid, event_props(block), block


# --- the store, read directly -----------------------------------------------------------------

def obligation_rows(engine, plan_id: str | None = None) -> list:
    query = (select(Obligation.id, Obligation.plan_id, Item.identity, Item.key, Item.title, Item.owners, Obligation.period,
                    Obligation.org_id, Obligation.due, Obligation.state)
             .join(Item, Item.id == Obligation.item_id))
    if plan_id is not None:
        query = query.where(Obligation.plan_id == plan_id)
    with Session(engine) as session:
        return session.execute(query).all()


def expected_keys(rows, party: str | None = None) -> set[tuple[tuple[str, str, str], dt.date]]:
    """What a feed must hold: dated, not cancelled obligations (a party's: its own)."""
    return {((r.plan_id, r.identity, str(r.id)), r.due) for r in rows
            if r.due is not None and r.state != "cancelled"
            and (party is None or r.org_id == party or (r.org_id == NO_ORG and party in r.owners))}


def party_names(engine, plan_id: str) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(Party.id, Party.name).where(Party.plan_id == plan_id)).all())


def store_id_of(engine) -> str:
    with Session(engine) as session:
        return session.get(StoreMeta, "store_id").value


@pytest.fixture
def other_engine(engine, tmp_path):
    """A second store of the same kind, created on its own (so with its own store id)."""
    if engine.dialect.name == "sqlite":
        other = connect(f"sqlite:///{tmp_path / 'other.db'}")
        yield other
        other.dispose()
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with postgres_database(admin, "nok_feedtest") as (_, url):
        other = connect(url)
        try:
            yield other
        finally:
            other.dispose()
    admin.dispose()


@pytest.fixture
def orenburg(engine):
    load_seed(engine, ORENBURG)
    return engine


# --- ical.js ----------------------------------------------------------------------------------

def parse_with_ical_js(*paths: Path) -> subprocess.CompletedProcess[str]:
    """tests/js/parse_ics.mjs run by node; a missing node or ical.js fails the test (never skips)."""
    if shutil.which("node") is None or not (JS / "node_modules" / "ical.js" / "package.json").is_file():
        pytest.fail("node or ical.js is missing: install ical.js with `npm ci --prefix tests/js` (needs Node 20)")
    done = subprocess.run(["node", "tests/js/parse_ics.mjs", *map(str, paths)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    if "ERR_MODULE_NOT_FOUND" in done.stderr:
        pytest.fail(f"ical.js is not installed: run `npm ci --prefix tests/js`\n{done.stderr}")
    return done


def ical_js(*paths: Path) -> list[dict]:
    """What ical.js (Thunderbird's parser) reads in each file."""
    done = parse_with_ical_js(*paths)
    assert done.returncode == 0, f"ical.js could not parse {paths}: {done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.slow
def test_ical_js_check_fails_on_a_broken_file(tmp_path):
    """The ical.js check is real: a malformed calendar makes it fail with the parser's message."""
    bad = write(tmp_path, b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nno colon here\r\nEND:VCALENDAR\r\n", "bad.ics")
    done = parse_with_ical_js(bad)
    assert done.returncode != 0 and done.stdout == ""
    assert "no colon here" in done.stderr


# === the seed plans: each feed holds exactly the plan's dated obligations ======================

@pytest.mark.parametrize("plan_id", list(SEEDS))
def test_seed_plan_feed_holds_exactly_its_dated_obligations(engine, plan_id):
    """A plan's subscriber sees every dated, not cancelled obligation once, on its due date, all day."""
    load_seed(engine, plan_id)
    feed = build(engine, plan_id)
    rows = obligation_rows(engine, plan_id)
    if plan_id == GOROD:  # its undated items must stay out
        assert any(r.due is None for r in rows)
    assert feed_keys(feed.body) == expected_keys(rows)
    assert feed.events == len(expected_keys(rows)) == len(vevents(feed.body))
    store = store_id_of(engine)
    names = party_names(engine, plan_id)
    titles = {str(r.id): (r.key, r.title, r.org_id) for r in rows}
    for uid, block in vevents(feed.body).items():
        props = event_props(block)
        assert uid_parts(uid)[0] == store
        assert day_of(props, "DTEND") == day_of(props, "DTSTART") + dt.timedelta(days=1)
        assert not any(name.startswith(("DTSTART", "DTEND")) and "VALUE=DATE" not in name for name in props)
        assert "RRULE" not in props and "RDATE" not in props
        assert props["SEQUENCE"] == "0" and props["TRANSP"] == "TRANSPARENT"
        assert props["DTSTAMP"] == props["LAST-MODIFIED"] == stamp(at(SEEDS[plan_id]))
        assert props["URL"] == f"{BASE}/plans/{plan_id}"
        key, title, org = titles[uid_parts(uid)[1][2]]
        assert unescape(props["SUMMARY"]) == f"{key} {title}" + (f" — {names[org]}" if org else "")


@pytest.mark.slow
@pytest.mark.parametrize("plan_id", list(SEEDS))
def test_seed_plan_feed_reads_the_same_in_three_parsers(engine, plan_id, tmp_path):
    """Python clients, recurrence expansion and Thunderbird's ical.js all see the same events."""
    load_seed(engine, plan_id)
    feed = build(engine, plan_id)
    expected = {uid: day_of(event_props(block), "DTSTART") for uid, block in vevents(feed.body).items()}
    assert expected

    cal = Calendar.from_ical(feed.body)
    events = cal.walk("VEVENT")
    assert {str(e["UID"]): e.decoded("DTSTART") for e in events} == expected
    for e in events:
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        assert type(start) is dt.date and type(end) is dt.date and end == start + dt.timedelta(days=1)

    period = plans.read_plan_file(PLANS / f"{plan_id}.yaml")[0].plan.period
    days = sorted(expected.values())
    # No RRULE: over the whole span, as many occurrences as events; within the plan period, its dated ones.
    everything = recurring_ical_events.of(cal).between(min(days[0], period.start), days[-1] + dt.timedelta(days=1))
    assert sorted(str(e["UID"]) for e in everything) == sorted(expected)
    within = recurring_ical_events.of(cal).between(period.start, period.end + dt.timedelta(days=1))
    assert len(within) == sum(period.start <= d <= period.end for d in days) > 0

    [parsed] = ical_js(write(tmp_path, feed.body))
    assert parsed["calendar"]["x-wr-timezone"] == plans.read_plan_file(PLANS / f"{plan_id}.yaml")[0].plan.timezone
    assert {e["uid"]: e["start"]["value"] for e in parsed["events"]} == {u: d.isoformat() for u, d in expected.items()}
    for e in parsed["events"]:
        assert e["start"]["isDate"] and e["end"]["isDate"] and not e["recurring"]
        assert dt.date.fromisoformat(e["end"]["value"]) == dt.date.fromisoformat(e["start"]["value"]) + dt.timedelta(1)
        assert e["sequence"] == 0 and e["alarms"] == []
        assert e["summary"] and e["description"].startswith("План: ")


# === owner and organisation feeds ================================================================

def test_organisation_feed_holds_exactly_its_obligations(engine):
    """A school subscribing to its calendar sees its own obligations, each with its upload link."""
    load_seed(engine, YUZHNO)
    feed = build(engine, YUZHNO, "sosh-1")
    rows = obligation_rows(engine, YUZHNO)
    mine = expected_keys(rows, "sosh-1")
    assert mine and feed_keys(feed.body) == mine
    orgs = {str(r.id): r.org_id for r in rows}
    assert {orgs[key[2]] for key, _ in mine} == {"sosh-1"}  # the group's items, one obligation per school
    link = upload_link(BASE, KEY, YUZHNO, "sosh-1")
    for block in vevents(feed.body).values():
        props = event_props(block)
        assert props["URL"] == link
        assert unescape(props["DESCRIPTION"]).endswith(f"\nЗагрузить документ: {link}")
        assert "— МАОУ «СОШ № 1»" not in unescape(props["SUMMARY"])  # its own calendar: no name repeated
    # Another school's feed shares none of its events.
    assert not set(vevents(feed.body)) & set(vevents(build(engine, YUZHNO, "gimnaziya-3").body))


@pytest.mark.parametrize(("plan_id", "party"), [(YUZHNO, "departament"), (YUZHNO, "sovet"), (GOROD, "otdel"),
                                                 (ORENBURG, "operator")])
def test_person_or_unit_feed_holds_exactly_theirs(engine, plan_id, party):
    """A unit's subscriber sees exactly the obligations it answers for, linked to its upload page."""
    load_seed(engine, plan_id)
    feed = build(engine, plan_id, party)
    rows = obligation_rows(engine, plan_id)
    mine = expected_keys(rows, party)
    assert mine and feed_keys(feed.body) == mine
    orgs = {str(r.id): r.org_id for r in rows}
    assert {orgs[key[2]] for key, _ in mine} == {NO_ORG}
    link = upload_link(BASE, KEY, plan_id, party)
    assert {event_props(b)["URL"] for b in vevents(feed.body).values()} == {link}
    assert feed.name == f"Сроки: {party_names(engine, plan_id)[party]}"


def test_owner_feed_without_a_plan_spans_every_plan(engine):
    """One subscription for a school in several plans shows all of them, each plan's own link."""
    for plan_id in SEEDS:
        load_seed(engine, plan_id)
    everywhere = build(engine, None, "sosh-1")
    rows = obligation_rows(engine)
    in_plans = {key[0] for key, _ in expected_keys(rows, "sosh-1")}
    assert in_plans == {GOROD, INFORMING, YUZHNO}
    assert feed_keys(everywhere.body) == expected_keys(rows, "sosh-1")
    per_plan = {}
    for plan_id in in_plans:
        per_plan |= vevents(build(engine, plan_id, "sosh-1").body)
    assert vevents(everywhere.body) == per_plan  # the same events, byte for byte
    for uid, block in vevents(everywhere.body).items():
        assert event_props(block)["URL"] == upload_link(BASE, KEY, uid_parts(uid)[1][0], "sosh-1")


def test_revoked_upload_link_is_replaced_in_the_feed(orenburg):
    """After a coordinator revokes a leaked link, the calendar carries the new one, not the dead one."""
    before = build(orenburg, ORENBURG, "sovet")
    links.revoke(orenburg, plan_id=ORENBURG, party_id="sovet", by="uo", now=at("2024-10-02"))
    after = build(orenburg, ORENBURG, "sovet")
    assert {event_props(b)["URL"] for b in vevents(after.body).values()} == {
        upload_link(BASE, KEY, ORENBURG, "sovet", 1)}
    assert upload_link(BASE, KEY, ORENBURG, "sovet") not in after.body.replace(b"\r\n ", b"").decode()
    assert after.etag != before.etag and after.last_modified == at("2024-10-02")


# === same data, same bytes ======================================================================

def test_same_data_gives_same_bytes(engine):
    """A calendar client polling an unchanged store gets identical bytes, so its ETag matches."""
    load_seed(engine, YUZHNO)
    first = build(engine, YUZHNO)
    party = build(engine, YUZHNO, "sosh-1")
    assert build(engine, YUZHNO) == first
    calendar_feed._pieces.clear()
    calendar_feed._feeds.clear()
    assert build(engine, YUZHNO) == first and build(engine, YUZHNO, "sosh-1") == party
    again = plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-10-01"))
    assert not again.applied
    calendar_feed._pieces.clear()
    assert build(engine, YUZHNO) == first and build(engine, YUZHNO, "sosh-1") == party
    assert first.etag.startswith('"') and len(first.etag) == 42


# II.4 of orenburg-raion-2024: «Декабрь 2024 г.» → «Ноябрь 2024 г.» (one obligation).
MOVE_II_4 = (("title: Заседание общественного совета №2\n        deadline: Декабрь 2024 г.",
              "title: Заседание общественного совета №2\n        deadline: Ноябрь 2024 г."),)

# === UIDs ======================================================================================

def test_uids_survive_a_new_engine_on_the_same_store(engine):
    """Restarting the server changes no event: same UIDs, same bytes."""
    load_seed(engine, ORENBURG)
    before = build(engine, ORENBURG)
    url = engine.url.render_as_string(hide_password=False)
    calendar_feed._store_ids.clear()
    calendar_feed._pieces.clear()
    fresh = connect(url)
    try:
        assert build(fresh, ORENBURG).body == before.body
    finally:
        fresh.dispose()


def test_uids_differ_between_stores(engine, other_engine):
    """Two installations loading the same plan never collide in one subscriber's calendar."""
    load_seed(engine, ORENBURG)
    load_seed(other_engine, ORENBURG)
    assert store_id_of(engine) != store_id_of(other_engine)
    ours, theirs = vevents(build(engine, ORENBURG).body), vevents(build(other_engine, ORENBURG).body)
    assert len(ours) == len(theirs) and not set(ours) & set(theirs)
    assert sorted(uid_parts(u)[1][:2] for u in ours) == sorted(uid_parts(u)[1][:2] for u in theirs)


def test_uids_are_unique_within_every_feed(engine):
    """No two events of one feed share a UID (a client would keep only one of them)."""
    load_seed(engine, INFORMING)
    for party in (None, "sosh-1", "operator"):
        feed = build(engine, INFORMING, party)
        uids = re.findall(r"^UID:(.*)$", unfold(feed.body), re.MULTILINE)
        assert uids and len(uids) == len(set(uids)) == feed.events


def test_uids_survive_an_amendment_that_moves_recurring_deadlines(engine, tmp_path):
    """Moving «до 5 числа» to «до 10 числа» moves the events in place: same UIDs, new dates."""
    load_seed(engine, YUZHNO)
    before = vevents(build(engine, YUZHNO).body)
    amended = plan_copy(tmp_path, YUZHNO, ("deadline: Ежеквартально до 5 числа", "deadline: Ежеквартально до 10 числа"))
    assert plans.load(engine, amended, actor=None, now=at("2014-09-05")).diff.obligations_rescheduled == 40
    after = vevents(build(engine, YUZHNO).body)
    assert set(after) == set(before)
    moved = [u for u in after if uid_parts(u)[1][1] == "4.5"]
    assert len(moved) == 40
    for uid in moved:
        old, new = day_of(event_props(before[uid]), "DTSTART"), day_of(event_props(after[uid]), "DTSTART")
        assert new == old + dt.timedelta(days=5)


def test_uid_survives_an_amendment_that_moves_a_one_off_deadline(orenburg, tmp_path):
    """Moving «Декабрь» to «Ноябрь» moves the subscriber's event, it does not delete it and add another.

    The amendment rewrites the obligation's period (its month): the UID names the obligation's
    row, which stays, not its period.
    """
    before = build(orenburg, ORENBURG).body
    old_uid, _, _ = one(before, "II.4 ")
    plans.load(orenburg, plan_copy(tmp_path, ORENBURG, *MOVE_II_4), actor=None, now=at("2024-10-01"))
    after = build(orenburg, ORENBURG)
    new_uid, props, _ = one(after.body, "II.4 ")
    assert day_of(props, "DTSTART") == dt.date(2024, 11, 30)
    assert new_uid == old_uid, f"the moved event's UID changed: {old_uid} → {new_uid}"
    assert set(vevents(after.body)) == set(vevents(before))


# === a moved due date ===========================================================================

def test_moved_due_date_bumps_that_event_only(orenburg, tmp_path):
    """After an amendment moves a deadline, the client updates that event and nothing else."""
    before = build(orenburg, ORENBURG)
    old_uid, old, _ = one(before.body, "II.4 ")
    assert (day_of(old, "DTSTART"), old["SEQUENCE"]) == (dt.date(2024, 12, 31), "0")
    amended_at = at("2024-10-01", 8, 30)
    result = plans.load(orenburg, plan_copy(tmp_path, ORENBURG, *MOVE_II_4), actor=None, now=amended_at)
    assert result.diff.obligations_rescheduled == 1 and result.diff.obligations_added == 0
    after = build(orenburg, ORENBURG)
    new_uid, new, _ = one(after.body, "II.4 ")
    assert day_of(new, "DTSTART") == dt.date(2024, 11, 30) and day_of(new, "DTEND") == dt.date(2024, 12, 1)
    assert new["SEQUENCE"] == "1"
    assert new["DTSTAMP"] == new["LAST-MODIFIED"] == stamp(amended_at)
    assert "Срок: 30.11.2024 (Ноябрь 2024 г.)" in unescape(new["DESCRIPTION"])
    assert after.etag != before.etag
    assert before.last_modified == at(SEEDS[ORENBURG]) and after.last_modified == amended_at
    others_before = {u: b for u, b in vevents(before.body).items() if u != old_uid}
    others_after = {u: b for u, b in vevents(after.body).items() if u != new_uid}
    assert others_after == others_before and len(others_after) == before.events - 1


# === statuses =================================================================================

def test_sweep_past_the_due_date_marks_open_items(orenburg):
    """A deadline missed shows ⚠ in the month view, with a new SEQUENCE so clients refresh it."""
    swept_at = at("2024-10-01")
    plan_run.steps(orenburg, ORENBURG, swept_at)
    body = build(orenburg, ORENBURG).body
    _, i1, _ = one(body, "I.1 ")
    assert unescape(i1["SUMMARY"]).startswith("⚠ I.1 Заседания общественного совета №1")
    assert i1["SEQUENCE"] == "1" and i1["DTSTAMP"] == stamp(swept_at)
    assert "Состояние: эскалировано" in unescape(i1["DESCRIPTION"])
    periods = {str(r.id): r.period for r in obligation_rows(orenburg, ORENBURG)}
    [(_, q3)] = [(u, b) for u, b in by_summary(body, "III.3 ") if periods[uid_parts(u)[1][2]] == "2024-Q3"]
    assert unescape(event_props(q3)["SUMMARY"]).startswith("⚠ ")
    _, i2, _ = one(body, "I.2 ")  # not due yet: no mark
    assert unescape(i2["SUMMARY"]).startswith("I.2 ")
    # Overdue (not yet escalated) is marked the same: 31.12 → 08.01 is within the New Year holidays.
    plan_run.steps(orenburg, ORENBURG, at("2025-01-08"))
    _, ii4, _ = one(build(orenburg, ORENBURG).body, "II.4 ")
    assert unescape(ii4["SUMMARY"]).startswith("⚠ II.4 ") and "Состояние: просрочено" in unescape(ii4["DESCRIPTION"])


def test_completion_shows_a_check_mark(orenburg, tmp_path):
    """Once the document is in, the event says ✓ and when it was done; clients see a new SEQUENCE."""
    plan_run.steps(orenburg, ORENBURG, at("2024-10-01"))
    _, before, _ = one(build(orenburg, ORENBURG).body, "I.1 ")
    done_at = at("2024-10-03", 6, 15)
    submit(orenburg, tmp_path / "ev", plan_id=ORENBURG, item="I.1", by="sovet", now=done_at,
           url="https://example.org/protokol-1", document_date=dt.date(2024, 9, 17))
    feed = build(orenburg, ORENBURG)
    _, after, _ = one(feed.body, "I.1 ")
    assert unescape(after["SUMMARY"]).startswith("✓ I.1 ")
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after["DTSTAMP"] == after["LAST-MODIFIED"] == stamp(done_at)
    assert "Состояние: выполнено 17.09.2024" in unescape(after["DESCRIPTION"])
    assert day_of(after, "DTSTART") == dt.date(2024, 9, 30)  # still on its due date
    assert feed.last_modified == done_at


def test_waived_obligation_shows_a_cross(orenburg):
    """An obligation the coordinator waived stays in the calendar, marked ✗."""
    before = build(orenburg, ORENBURG)
    waive(orenburg, plan_id=ORENBURG, item="III.2", period=None, org=None, reason="перенесено в план 2025",
          by="uo", now=at("2024-12-01"))
    after = build(orenburg, ORENBURG)
    _, props, _ = one(after.body, "III.2 ")
    assert unescape(props["SUMMARY"]).startswith("✗ III.2 ") and props["SEQUENCE"] == "1"
    assert "Состояние: снято" in unescape(props["DESCRIPTION"])
    assert after.events == before.events


def test_item_removed_by_an_amendment_leaves_the_feed(orenburg, tmp_path):
    """An item struck from the plan disappears from calendars; done and overdue events stay."""
    plan_run.steps(orenburg, ORENBURG, at("2024-10-01"))
    submit(orenburg, tmp_path / "ev", plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-10-03"),
           url="https://example.org/protokol-1", document_date=dt.date(2024, 9, 17))
    before = build(orenburg, ORENBURG)
    assert by_summary(before.body, "II.6 ")
    block_ii6 = (PLANS / f"{ORENBURG}.yaml").read_text(encoding="utf-8")
    start = block_ii6.index('      - number: "6"\n')
    end = block_ii6.index("  - number: III.")
    amended_at = at("2024-10-04")
    result = plans.load(orenburg, plan_copy(tmp_path, ORENBURG, (block_ii6[start:end], "\n")), actor=None,
                        now=amended_at)
    assert result.diff.removed == ["II.6"] and result.diff.obligations_cancelled == 1
    after = build(orenburg, ORENBURG)
    assert by_summary(after.body, "II.6 ") == []
    assert feed_keys(after.body) == expected_keys(obligation_rows(orenburg, ORENBURG))
    assert after.events == before.events - 1
    assert unescape(one(after.body, "I.1 ")[1]["SUMMARY"]).startswith("✓ ")
    assert any(unescape(event_props(b)["SUMMARY"]).startswith("⚠ ") for _, b in by_summary(after.body, "III.3 "))
    assert not by_summary(build(orenburg, ORENBURG, "operator").body, "II.6 ")
    assert after.last_modified == amended_at


def test_a_done_item_removed_by_an_amendment_stays_in_the_owners_feed_as_in_the_plans(orenburg, tmp_path):
    """What was done stays done in every calendar that showed it, whoever subscribed."""
    submit(orenburg, tmp_path / "ev", plan_id=ORENBURG, item="II.6", by="operator", now=at("2024-12-03"),
           url="https://example.org/otchet", document_date=dt.date(2024, 12, 2))
    source = (PLANS / f"{ORENBURG}.yaml").read_text(encoding="utf-8")
    block = source[source.index('      - number: "6"\n'):source.index("  - number: III.")]
    plans.load(orenburg, plan_copy(tmp_path, ORENBURG, (block, "\n")), actor=None, now=at("2024-12-04"))
    for feed in (build(orenburg, ORENBURG), build(orenburg, ORENBURG, "operator")):
        _, props, _ = one(feed.body, "II.6 ")
        assert unescape(props["SUMMARY"]).startswith("✓ II.6 ")
        assert "Состояние: выполнено 02.12.2024" in unescape(props["DESCRIPTION"])


def test_renames_and_rewordings_give_a_new_sequence_to_the_events_they_change(orenburg, tmp_path):
    """A renamed owner, a reworded deadline or a new plan title reach calendars as updates
    (SEQUENCE + 1, LAST-MODIFIED the amendment's), and only the events they change."""
    before = vevents(build(orenburg, ORENBURG).body)
    renamed = plan_copy(tmp_path, ORENBURG, ("name: Организация-оператор", "name: Оператор НОКО «Центр»"),
                        name="renamed.yaml")
    plans.load(orenburg, renamed, actor=None, now=at("2024-10-05"))
    after = vevents(build(orenburg, ORENBURG).body)
    changed = {u for u in before if before[u] != after[u]}
    operators = {u for u, b in after.items() if "Оператор НОКО «Центр»" in unescape(event_props(b)["DESCRIPTION"])}
    assert changed == operators and operators
    for uid in changed:
        props = event_props(after[uid])
        assert props["SEQUENCE"] == str(int(event_props(before[uid])["SEQUENCE"]) + 1)
        assert props["LAST-MODIFIED"] == props["DTSTAMP"] == stamp(at("2024-10-05"))

    source = renamed.read_text(encoding="utf-8")
    retitled = tmp_path / "retitled.yaml"
    retitled.write_text(source.replace("title: >-\n", "title: >-\n  Новая редакция:\n", 1), encoding="utf-8")
    plans.load(orenburg, retitled, actor=None, now=at("2024-10-06"))
    final = vevents(build(orenburg, ORENBURG).body)
    assert all(event_props(final[u])["LAST-MODIFIED"] == stamp(at("2024-10-06")) for u in final)
    assert all(int(event_props(final[u])["SEQUENCE"]) == int(event_props(after[u])["SEQUENCE"]) + 1 for u in final)


# === alarms ===================================================================================

CALENDAR_ON = ("coordinator: uo\n", "coordinator: uo\nreminders:\n  calendar: true\n")
# II.4's own reminder: 7 days before, at 15:00 (the plan's `calendar: true` still applies).
II_4_OWN = ("title: Заседание общественного совета №2\n        deadline: Декабрь 2024 г.\n",
            ("title: Заседание общественного совета №2\n        deadline: Декабрь 2024 г.\n"
             "        reminders: {days_before: [7], hour: 15}\n"))


@pytest.mark.slow
def test_calendar_reminders_become_alarms(engine, tmp_path):
    """With `reminders: {calendar: true}` the phone rings on the reminder days at the plan's hour."""
    plans.load(engine, plan_copy(tmp_path, ORENBURG, CALENDAR_ON, II_4_OWN), actor=None, now=at(SEEDS[ORENBURG]))
    feed = build(engine, ORENBURG)
    # I.1 is due Mon 30.09.2024: 14 days → 16.09; 3 days → Fri 27.09; 1 day → Sun 29.09, so the
    # working day before, 27.09 again; 0 → 30.09. 09:00 in Yekaterinburg (UTC+5) is 04:00Z.
    assert triggers(one(feed.body, "I.1 ")[2]) == [
        "TRIGGER;VALUE=DATE-TIME:20240916T040000Z", "TRIGGER;VALUE=DATE-TIME:20240927T040000Z",
        "TRIGGER;VALUE=DATE-TIME:20240930T040000Z"]
    # II.4 (due 31.12.2024) has its own: 7 days before at 15:00 local = 24.12 10:00Z.
    assert triggers(one(feed.body, "II.4 ")[2]) == ["TRIGGER;VALUE=DATE-TIME:20241224T100000Z"]
    zone = ZoneInfo("Asia/Yekaterinburg")
    for uid, block in vevents(feed.body).items():
        if uid_parts(uid)[1][1] == "II.4":
            continue
        due = day_of(event_props(block), "DTSTART")
        moments = sorted({dt.datetime.combine(send_day(due, d, False), dt.time(9), zone) for d in (14, 3, 1, 0)})
        assert triggers(block) == [f"TRIGGER;VALUE=DATE-TIME:{stamp(m)}" for m in moments]
        assert block.count(b"BEGIN:VALARM") == len(moments) and b"ACTION:DISPLAY" in block
    [parsed] = ical_js(write(tmp_path, feed.body))
    i1 = next(e for e in parsed["events"] if e["summary"].startswith("I.1 "))
    assert [(a["type"], a["trigger"], a["action"]) for a in i1["alarms"]] == [
        ("date-time", "2024-09-16T04:00:00Z", "DISPLAY"), ("date-time", "2024-09-27T04:00:00Z", "DISPLAY"),
        ("date-time", "2024-09-30T04:00:00Z", "DISPLAY")]


def test_no_alarms_unless_the_plan_asks(orenburg):
    """A plan that does not ask for calendar reminders adds no alarms to anyone's phone."""
    for party in (None, "sovet"):
        body = build(orenburg, ORENBURG, party).body
        assert vevents(body) and b"VALARM" not in body and b"TRIGGER" not in body


def test_done_and_waived_events_have_no_alarms(engine, tmp_path):
    """Nothing rings for an obligation already done or waived; the others keep their alarms."""
    plans.load(engine, plan_copy(tmp_path, ORENBURG, CALENDAR_ON), actor=None, now=at(SEEDS[ORENBURG]))
    assert triggers(one(build(engine, ORENBURG).body, "I.1 ")[2])
    submit(engine, tmp_path / "ev", plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-09-20"),
           url="https://example.org/protokol-1", document_date=dt.date(2024, 9, 17))
    waive(engine, plan_id=ORENBURG, item="III.2", period=None, org=None, reason="перенесено", by="uo",
          now=at("2024-09-20"))
    body = build(engine, ORENBURG).body
    for summary in ("I.1 ", "III.2 "):
        _, props, block = one(body, summary)
        assert unescape(props["SUMMARY"])[:2] in ("✓ ", "✗ ") and triggers(block) == []
    assert triggers(one(body, "I.2 ")[2])


# === the format ===============================================================================

def test_lines_end_crlf_and_fold_at_75_octets(engine):
    """Strict clients (Outlook, old phones) accept the feed: CRLF, ≤ 75 octets, UTF-8 kept whole."""
    load_seed(engine, YUZHNO)
    rows = {str(r.id): r for r in obligation_rows(engine, YUZHNO)}
    names = party_names(engine, YUZHNO)
    for body, with_org in ((build(engine, YUZHNO).body, True), (build(engine, YUZHNO, "sosh-1").body, False)):
        assert body.endswith(b"END:VCALENDAR\r\n")
        assert b"\n" not in body.replace(b"\r\n", b"") and b"\r" not in body.replace(b"\r\n", b"")
        lines = body[:-2].split(b"\r\n")
        assert max(len(line) for line in lines) <= 75
        for line in lines:
            line.decode("utf-8")  # no character cut in two by a fold
        folded = [line for line in lines if line.startswith(b" ")]
        assert sum(1 for line in folded if re.search(rb"[\xd0\xd1]", line)) > 50  # long Cyrillic text is folded
        long_summaries = 0
        for uid, block in vevents(body).items():
            r = rows[uid_parts(uid)[1][2]]
            org = r.org_id
            summary = unescape(event_props(block)["SUMMARY"])
            assert summary == f"{r.key} {r.title}" + (f" — {names[org]}" if org and with_org else "")
            long_summaries += len(f"SUMMARY:{summary}".encode()) > 75
        assert long_summaries > 10  # unfolding gave back SUMMARYs that had to be folded


@pytest.mark.parametrize("plan_id", list(SEEDS))
def test_events_are_the_bytes_icalendar_makes(engine, plan_id, monkeypatch):
    """The direct serialiser writes, for every event of every seed plan (plan and owner feeds),
    exactly what icalendar's Event.to_ical() writes; reading the rows to make by id or all
    of them again gives the same feed."""
    load_seed(engine, plan_id)
    orgs = sorted({r.org_id for r in obligation_rows(engine, plan_id) if r.org_id and r.org_id != NO_ORG})
    parties = orgs[:1] + sorted(set(party_names(engine, plan_id)) - set(orgs))[:3]
    scopes = [(plan_id, None)] + [(plan_id, p) for p in parties]
    fast = {s: build(engine, *s).body for s in scopes}
    calendar_feed._pieces.clear()
    monkeypatch.setattr(calendar_feed, "event_bytes", ics.icalendar_event_bytes)
    monkeypatch.setattr(calendar_feed, "_FETCH_ALL_ABOVE", 0)  # and the rows read the other way
    for s in scopes:
        assert build(engine, *s).body == fast[s], s
    assert sum(body.count(b"BEGIN:VEVENT") for body in fast.values()) > 5


_TRICKY = st.text(st.sampled_from(list("абвгдеёжзЯЮ«»—–…✓⚠✗😀 ,;:\\^\"'\n\r\tNn№.-1")), min_size=40, max_size=400)


@settings(max_examples=400, deadline=None)
@given(summary=_TRICKY, description=_TRICKY, sequence=st.integers(0, 10_000),
       url=st.one_of(st.none(), st.text(st.sampled_from(list("abc/:?=&%,;~-_.0123")), min_size=1, max_size=120)),
       day=st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 30)),
       stamp=st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1)))
def test_direct_serialiser_matches_icalendar_on_any_text(summary, description, sequence, url, day, stamp):
    d = ics.Deadline(uid=f"nok-п;л,ан/1.{sequence}@x.nok-workflow", day=day, summary=summary,
                     description=description, changed_at=stamp.replace(tzinfo=dt.UTC), sequence=sequence, url=url)
    assert ics.event_bytes(d) == ics.icalendar_event_bytes(d)


@pytest.mark.slow
def test_commas_and_semicolons_are_escaped_and_round_trip(engine, tmp_path):
    """Russian text full of commas and semicolons comes out in the client exactly as in the plan."""
    load_seed(engine, YUZHNO)
    feed = build(engine, YUZHNO)
    tricky = {r.key: r.title for r in obligation_rows(engine, YUZHNO)
              if r.org_id == NO_ORG and "," in r.title and ";" in r.title}
    assert tricky, "the seed plan has no title with both a comma and a semicolon"
    cal = {str(e["SUMMARY"]).split(" ", 1)[0]: e for e in Calendar.from_ical(feed.body).walk("VEVENT")}
    [parsed] = ical_js(write(tmp_path, feed.body))
    by_key = {e["summary"].split(" ", 1)[0]: e for e in parsed["events"]}
    for key, title in tricky.items():
        _, props, _ = one(feed.body, f"{key} ")
        raw = props["SUMMARY"]
        assert "\\," in raw and "\\;" in raw and not re.search(r"(?<!\\)[,;]", raw)
        assert str(cal[key]["SUMMARY"]) == by_key[key]["summary"] == f"{key} {title}"
    for props in map(event_props, vevents(feed.body).values()):
        assert not re.search(r"(?<!\\)[,;]", props["DESCRIPTION"])
        assert "\\n" in props["DESCRIPTION"] and "\n" not in props["DESCRIPTION"]
    # Several documents are listed with «; », escaped too, and read back whole.
    descriptions = [str(e["DESCRIPTION"]) for e in Calendar.from_ical(feed.body).walk("VEVENT")]
    assert any("Документ: " in d and "; " in d.split("Документ: ", 1)[1].split("\n")[0] for d in descriptions)


@pytest.mark.slow
@pytest.mark.parametrize(("plan_id", "zone"), [(ORENBURG, "Asia/Yekaterinburg"), (YUZHNO, "Asia/Sakhalin")])
def test_calendar_header(engine, tmp_path, plan_id, zone):
    """A published feed, not an invitation: no METHOD, refreshed hourly, in the plan's time zone."""
    load_seed(engine, plan_id)
    title = plans.read_plan_file(PLANS / f"{plan_id}.yaml")[0].plan.title
    for party, name in ((None, title), ("sovet", "Сроки: Общественный совет")):
        body = build(engine, plan_id, party).body
        head = unfold(body.split(b"BEGIN:VEVENT", 1)[0]).split("\r\n")
        assert head[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in head
        assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in head and "X-PUBLISHED-TTL:PT1H" in head
        assert f"X-WR-TIMEZONE:{zone}" in head
        assert not any(line.startswith("METHOD") for line in unfold(body).split("\r\n"))
        cal = Calendar.from_ical(body)
        assert "METHOD" not in cal and str(cal["X-WR-CALNAME"]) == name
        assert cal.decoded("REFRESH-INTERVAL") == dt.timedelta(hours=1)
        [parsed] = ical_js(write(tmp_path, body))
        assert parsed["calendar"] == {
            "name": "vcalendar", "prodid": "-//nok-workflow//Сроки НОК//RU", "version": "2.0",
            "x-wr-calname": name, "x-wr-timezone": zone,
            "refresh-interval": "PT1H", "refresh-interval-type": "duration", "x-published-ttl": "PT1H",
            "method": False}


# === the commands ==============================================================================

@pytest.fixture
def home(tmp_path):
    """A CLI store: SQLite under NOK_HOME in tmp_path, a fixed base URL."""
    return {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": "", "NOK_BASE_URL": BASE}


def nok(home, *args):
    return run_nok(*args, env=home)


def cli_engine(home):
    return connect(f"sqlite:///{Path(home['NOK_HOME']).resolve() / 'nok.db'}")


@pytest.mark.slow
def test_feed_create_list_revoke(home):
    """A coordinator issues a subscription URL once, sees it listed without the secret, revokes it."""
    assert nok(home, "plan", "load", str(PLANS / f"{YUZHNO}.yaml"), "--now", "2014-09-01").returncode == 0
    made = nok(home, "feed", "create", "--plan", YUZHNO, "--name", "телефон", "--now", "2014-09-02")
    assert made.returncode == 0, made.stderr
    urls = re.findall(rf"{re.escape(BASE)}/ical/[A-Za-z0-9_-]+\.ics", made.stdout + made.stderr)
    assert len(urls) == 1 and made.stdout.strip().splitlines()[-1] == urls[0]
    token = urls[0].rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 22 and token not in made.stderr
    assert "Подписка №1 «телефон»" in made.stdout and "nok feed revoke 1" in made.stderr
    engine = cli_engine(home)
    try:
        row = feeds.by_token(engine, token)
        assert (row.id, row.name, row.plan_id, row.party_id) == (1, "телефон", YUZHNO, None)

        listed = nok(home, "feed", "list")
        assert listed.returncode == 0 and "телефон" in listed.stdout and "02.09.2014" in listed.stdout
        as_json = nok(home, "feed", "list", "--json")
        assert json.loads(as_json.stdout)[0] | {"created": None} == {
            "id": 1, "name": "телефон", "plan": YUZHNO, "party": None, "by": "departament", "created": None,
            "revoked": None}
        assert token not in listed.stdout + listed.stderr + as_json.stdout

        school = nok(home, "feed", "create", "--org", "sosh-1", "--name", "планшет", "--now", "2014-09-02")
        assert school.returncode == 0 and "«sosh-1» во всех планах" in school.stdout
        assert feeds.by_token(engine, school.stdout.strip().rsplit("/", 1)[1][:-4]).party_id == "sosh-1"

        revoked = nok(home, "feed", "revoke", "1", "--now", "2014-09-03")
        assert revoked.returncode == 0 and "отозвана" in revoked.stdout
        time.sleep(feeds.STAMP_TTL)  # revoked by another process: this one sees it within that
        assert feeds.by_token(engine, token) is None
        assert json.loads(nok(home, "feed", "list", "--json").stdout)[0]["revoked"].startswith("2014-09-03")
        again = nok(home, "feed", "revoke", "1")
        assert again.returncode == 1 and "подписки №1 нет" in again.stderr and "Traceback" not in again.stderr
    finally:
        engine.dispose()


BAD_FEEDS = [
    (["--plan", "nope"], "--plan", "«nope»"),
    (["--plan", YUZHNO, "--owner", "nobody"], "--owner", "«nobody»"),
    (["--owner", "nobody"], "--owner", "«nobody»"),
    (["--owner", "sosh-1"], "--owner", "«sosh-1» — организация"),
    (["--org", "departament"], "--org", "«departament»"),
    (["--owner", "departament", "--org", "sosh-1"], "--owner", "--org"),
    (["--plan", YUZHNO, "--name", ""], "--name", "имя"),
    (["--plan", YUZHNO, "--name", "   "], "--name", "имя"),
    ([], "--plan", "--owner"),
]


@pytest.mark.slow
def test_feed_create_refuses_bad_input_in_russian(home):
    """A wrong flag gets a clear Russian line naming the flag and value, no traceback, no URL."""
    assert nok(home, "plan", "load", str(PLANS / f"{YUZHNO}.yaml"), "--now", "2014-09-01").returncode == 0
    for args, flag, value in BAD_FEEDS:
        if "--name" not in args:
            args = [*args, "--name", "телефон"]
        result = nok(home, "feed", "create", *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr and "/ical/" not in result.stdout, args
        assert result.stderr.startswith(f"{flag}: ") and value in result.stderr, (args, result.stderr)
        assert re.search("[а-яё]", result.stderr), args
    assert json.loads(nok(home, "feed", "list", "--json").stdout) == []


@pytest.mark.slow
def test_ical_writes_a_file_and_refuses_to_overwrite(home, tmp_path):
    """`nok ical` saves a calendar file a client imports, and never silently replaces an existing one."""
    assert nok(home, "plan", "load", str(PLANS / f"{YUZHNO}.yaml"), "--now", "2014-09-01").returncode == 0
    out = tmp_path / "plan.ics"
    made = nok(home, "ical", "--plan", YUZHNO, "-o", str(out))
    assert made.returncode == 0, made.stderr
    cal = Calendar.from_ical(out.read_bytes())
    events = cal.walk("VEVENT")
    assert len(events) == 91 and f"событий {len(events)}" in made.stdout
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Sakhalin"
    first = out.read_bytes()

    org = tmp_path / "sosh-1.ics"
    assert nok(home, "ical", "--plan", YUZHNO, "--org", "sosh-1", "-o", str(org)).returncode == 0
    org_uids = {str(e["UID"]) for e in Calendar.from_ical(org.read_bytes()).walk("VEVENT")}
    assert org_uids and org_uids < {str(e["UID"]) for e in events}

    refused = nok(home, "ical", "--plan", YUZHNO, "--org", "sosh-1", "-o", str(out))
    assert refused.returncode == 1 and "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert out.read_bytes() == first
    forced = nok(home, "ical", "--plan", YUZHNO, "--org", "sosh-1", "-o", str(out), "--force")
    assert forced.returncode == 0 and out.read_bytes() == org.read_bytes()

    unknown = nok(home, "ical", "--plan", "nope", "-o", str(tmp_path / "x.ics"))
    assert unknown.returncode == 1 and unknown.stderr.startswith("--plan: план «nope» не загружен")
    assert not (tmp_path / "x.ics").exists() and "Traceback" not in unknown.stderr


# === a change committed out of id order (PostgreSQL) ============================================

@pytest.fixture
def pg_engine(pg_template):
    """A PostgreSQL store of its own (the race below cannot happen on SQLite: its writers queue)."""
    admin, template = pg_template
    with postgres_database(admin, "nok_race", template) as (_, url):
        engine = connect(url)
        yield engine
        engine.dispose()


@pytest.mark.slow
def test_a_change_committed_after_a_later_one_still_reaches_subscribers(pg_engine):
    """Writer A takes an audit id, writer B a larger one and commits first: when A commits, the
    served feed must show A's change (a stamp of «the newest id» alone would hide it for good)."""
    import time

    from nok_workflow.services.commands import audit

    load_seed(pg_engine, ORENBURG)
    scope, settings = Scope(ORENBURG), {"base_url": BASE, "key": KEY}
    calendar_feed.served(pg_engine, scope, **settings)
    with pg_engine.connect() as conn, conn.begin():
        session = Session(bind=conn)
        ob = session.execute(select(Obligation).join(Item).where(Item.key == "II.4")).scalars().one()
        ob.due, ob.revision, ob.changed_at = dt.date(2024, 12, 20), ob.revision + 1, at("2024-10-02")
        session.add(ob)
        audit.record(session, actor="uo", action="plan.amend", plan_id=ORENBURG, at=at("2024-10-02"), details={})
        session.flush()  # A holds the smaller audit id, not committed
        feeds.create(pg_engine, name="телефон", plan_id=ORENBURG, owner=None, org=None, by="uo",
                     now=at("2024-10-02"))  # B: a larger id, committed
        during = calendar_feed.served(pg_engine, scope, **settings)
        assert b"20241220" not in during.body
    time.sleep(calendar_feed.STAMP_TTL + 0.2)  # what another process's change may take to show
    after = calendar_feed.served(pg_engine, scope, **settings)
    assert b"DTSTART;VALUE=DATE:20241220" in after.body
    assert after.body == build(pg_engine, ORENBURG).body
