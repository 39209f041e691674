"""Calendar subscriptions over HTTP: `/ical/<token>.ics` as a phone or Outlook fetches it —
the bytes, the validators (ETag, Last-Modified) and the 304s they earn, a change in the
store showing in the next fetch, and every token that opens nothing getting the same page
as any unknown address. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from icalendar import Calendar

from nok_workflow.services.read import calendar_feed
from nok_workflow.services.commands import feeds
from nok_workflow.services.commands.plans import load
from nok_workflow.tokens import upload_token
from nok_workflow.web.security import HEADERS
from tests.support.paths import PLANS
from tests.support.web import KEY, MOMENT, client

ORENBURG = "orenburg-raion-2024"
BASE_URL = "http://calendar.example.org"
HOST = "calendar.example.org"
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")
SECOND_MEETING = "Заседание общественного совета №2"
AMENDED = MOMENT + dt.timedelta(days=1)


@pytest.fixture
def orenburg(engine):
    load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=MOMENT)
    return engine


@pytest.fixture
def web(orenburg, app_of):
    """A client of the app whose base URL is BASE_URL (not the default one)."""
    return client(app_of(orenburg, base_url=BASE_URL), host=HOST)


def subscribe(engine, **scope) -> tuple[int, str]:
    scope = {"plan_id": ORENBURG, "owner": None, "org": None} | scope
    row, token = feeds.create(engine, name="телефон", by="uo", now=MOMENT, **scope)
    return row.id, token


def expected(engine, plan_id=ORENBURG, party_id=None) -> calendar_feed.Feed:
    return calendar_feed.build(engine, calendar_feed.Scope(plan_id, party_id), base_url=BASE_URL, key=KEY)


def events_of(body: bytes) -> dict[str, object]:
    """UID → VEVENT of a feed that icalendar parses."""
    cal = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def meeting(body: bytes):
    (event,) = [e for e in events_of(body).values() if SECOND_MEETING in str(e["SUMMARY"])]
    return event


def http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def assert_guarded(response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["x-content-type-options"] == "nosniff"


# --- the feed's bytes ----------------------------------------------------------------------

def test_a_plan_feed_is_the_calendar_the_service_builds(orenburg, web):
    _, token = subscribe(orenburg)
    r = web.get(f"/ical/{token}.ics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    feed = expected(orenburg)
    assert r.content == feed.body
    assert feed.events > 10
    events = events_of(r.content)
    assert len(events) == feed.events
    assert Calendar.from_ical(r.content)["X-WR-CALNAME"].startswith("План-график проведения")
    # The app links with its own base URL (Settings.base_url), not the default one.
    assert f"{BASE_URL}/plans/{ORENBURG}".encode() in r.content.replace(b"\r\n ", b"")
    assert b"127.0.0.1:8470" not in r.content
    assert r.headers["cache-control"] == "private, no-cache"
    assert_guarded(r)


def test_an_owner_feed_holds_only_their_obligations_with_upload_links(orenburg, web):
    _, token = subscribe(orenburg, owner="operator")
    r = web.get(f"/ical/{token}.ics")
    assert r.status_code == 200
    feed = expected(orenburg, ORENBURG, "operator")
    assert r.content == feed.body
    whole = expected(orenburg)
    assert 0 < len(events_of(r.content)) < whole.events
    # Upload links are signed with the app's key: the same bytes as the service with KEY.
    unfolded = r.content.replace(b"\r\n ", b"")
    assert f"{BASE_URL}/u/{ORENBURG}/operator/{upload_token(KEY, ORENBURG, 'operator')}".encode() in unfolded
    assert "Загрузить документ".encode() in unfolded


# --- validators and conditional requests ----------------------------------------------------

def test_a_strong_etag_and_last_modified_that_stay_put(orenburg, web):
    _, token = subscribe(orenburg)
    first, second = web.get(f"/ical/{token}.ics"), web.get(f"/ical/{token}.ics")
    etag = first.headers["etag"]
    assert not etag.startswith("W/")
    assert etag == second.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()[:40]}"'
    assert etag == expected(orenburg).etag
    modified = first.headers["last-modified"]
    assert HTTP_DATE.match(modified), modified
    assert modified == second.headers["last-modified"] == http_date(MOMENT) == "Tue, 08 Oct 2024 04:00:00 GMT"
    assert parsedate_to_datetime(modified) == MOMENT


def test_if_none_match_decides_and_takes_precedence(orenburg, web):
    _, token = subscribe(orenburg)
    url = f"/ical/{token}.ics"
    full = web.get(url)
    etag, modified = full.headers["etag"], full.headers["last-modified"]

    same = web.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    assert same.headers["last-modified"] == modified
    assert same.headers["cache-control"] == "private, no-cache"
    assert_guarded(same)

    future = http_date(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    other = web.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": future})
    assert other.status_code == 200
    assert other.content == full.content
    # Even a matching date loses to a non-matching tag.
    assert web.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200

    assert web.get(url, headers={"If-None-Match": "*"}).status_code == 304
    listed = web.get(url, headers={"If-None-Match": f'"a", {etag}, "b"'})
    assert listed.status_code == 304 and listed.content == b""
    assert web.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304  # weak comparison
    assert web.get(url, headers={"If-None-Match": etag.strip('"')}).status_code == 200  # unquoted: another tag
    assert web.get(url, headers={"If-None-Match": '"a", "b"'}).status_code == 200


def test_if_modified_since_without_a_tag(orenburg, web):
    _, token = subscribe(orenburg)
    url = f"/ical/{token}.ics"
    full = web.get(url)
    modified = full.headers["last-modified"]

    same = web.get(url, headers={"If-Modified-Since": modified})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == full.headers["etag"]
    later = web.get(url, headers={"If-Modified-Since": http_date(MOMENT + dt.timedelta(hours=1))})
    assert later.status_code == 304
    older = web.get(url, headers={"If-Modified-Since": http_date(MOMENT - dt.timedelta(seconds=1))})
    assert older.status_code == 200 and older.content == full.content
    # «-0000»: a date without a known zone, read as GMT.
    assert web.get(url, headers={"If-Modified-Since": modified.replace("GMT", "-0000")}).status_code == 304
    assert web.get(url, headers={"If-Modified-Since": "Tue, 08 Oct 2024 03:59:59 -0000"}).status_code == 200
    # Another zone: the same moment as the Last-Modified, written in Orenburg time.
    assert web.get(url, headers={"If-Modified-Since": "Tue, 08 Oct 2024 09:00:00 +0500"}).status_code == 304
    for garbage in ("вчера".encode(), "not a date", "Tue, 99 Foo 2024 25:61:61 GMT", ""):
        r = web.get(url, headers={"If-Modified-Since": garbage})
        assert r.status_code == 200, garbage
        assert r.content == full.content


def test_head_gives_the_headers_without_a_body(orenburg, web):
    _, token = subscribe(orenburg)
    url = f"/ical/{token}.ics"
    full = web.get(url)
    head = web.head(url)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "last-modified", "content-type", "cache-control", "content-length"):
        assert head.headers[name] == full.headers[name], name
    assert int(head.headers["content-length"]) == len(full.content)
    assert_guarded(head)
    cached = web.head(url, headers={"If-None-Match": full.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == full.headers["etag"]


# --- a change in the store ---------------------------------------------------------------------

YUZHNO = "yuzhno-sakhalinsk-2014-2016"
QUARTERLY = "deadline: Ежеквартально до 5 числа"  # item 4.5, one obligation per quarter and school


def test_an_amendment_shows_in_the_next_fetch_with_new_validators(engine, app_of, write_plan):
    load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=MOMENT)
    web = client(app_of(engine, base_url=BASE_URL), host=HOST)
    _, token = subscribe(engine, plan_id=YUZHNO)
    url = f"/ical/{token}.ics"
    before = web.get(url)
    old_etag, old_modified = before.headers["etag"], before.headers["last-modified"]
    assert old_modified == http_date(MOMENT)
    # Cached now: the whole feed and its change stamp; the next fetch must still see the change.
    assert web.get(url, headers={"If-None-Match": old_etag}).status_code == 304

    text = (PLANS / f"{YUZHNO}.yaml").read_text(encoding="utf-8")
    assert text.count(QUARTERLY) == 1
    amended = write_plan(text.replace(QUARTERLY, "deadline: Ежеквартально до 10 числа"), "yuzhno-amended.yaml")
    assert load(engine, amended, actor=None, now=AMENDED).applied

    after = web.get(url, headers={"If-None-Match": old_etag})
    assert after.status_code == 200  # the old tag no longer matches
    assert after.content == expected(engine, YUZHNO).body
    assert after.headers["etag"] != old_etag
    assert not after.headers["etag"].startswith("W/")
    new_modified = after.headers["last-modified"]
    assert HTTP_DATE.match(new_modified)
    assert parsedate_to_datetime(new_modified) > parsedate_to_datetime(old_modified)
    assert new_modified == http_date(AMENDED)

    old, new = events_of(before.content), events_of(after.content)
    assert set(old) == set(new)  # the same events (UIDs), moved: updated, not replaced
    moved = {u for u in new if new[u]["DTSTART"].dt != old[u]["DTSTART"].dt}
    assert len(moved) >= 10
    for u in moved:
        assert new[u]["DTSTART"].dt == old[u]["DTSTART"].dt + dt.timedelta(days=5)
        assert int(new[u]["SEQUENCE"]) == int(old[u]["SEQUENCE"]) + 1
        assert new[u]["LAST-MODIFIED"].dt == AMENDED
    # Events the amendment did not touch kept their bytes.
    assert {u for u in new if new[u].to_ical() != old[u].to_ical()} == moved

    # The old date now earns the whole feed; the new validators earn 304.
    assert web.get(url, headers={"If-Modified-Since": old_modified}).status_code == 200
    assert web.get(url, headers={"If-Modified-Since": new_modified}).status_code == 304
    assert web.get(url, headers={"If-None-Match": after.headers["etag"]}).status_code == 304
    # A fetch with no change in between: the same validators (the feed is not rebuilt differently).
    again = web.get(url)
    assert (again.headers["etag"], again.headers["last-modified"]) == (after.headers["etag"], new_modified)


def test_a_rescheduled_one_off_deadline_keeps_its_event(orenburg, web, write_plan):
    """A single deadline moved to another month by a new version of the plan stays the same
    obligation (services/commands/plans.py reschedules the row): its calendar event must be updated
    (same UID, SEQUENCE + 1), not deleted and replaced (docs/calendar.md: «UID не меняется
    при … новой редакции»)."""
    from sqlalchemy import select
    from sqlmodel import Session

    from nok_workflow.store.models import Item, Obligation

    def row():
        with Session(orenburg) as session:
            return session.execute(select(Obligation.id, Obligation.period, Obligation.due, Obligation.state)
                                   .join(Item, Item.id == Obligation.item_id)
                                   .where(Item.plan_id == ORENBURG, Item.title == SECOND_MEETING)).all()

    _, token = subscribe(orenburg)
    url = f"/ical/{token}.ics"
    before = meeting(web.get(url).content)
    assert before["DTSTART"].dt == dt.date(2024, 12, 31)
    ((ob_id, _, _, _),) = row()

    text = (PLANS / "orenburg-raion-2024.yaml").read_text(encoding="utf-8")
    block = f"title: {SECOND_MEETING}\n        deadline: Декабрь 2024 г."
    assert text.count(block) == 1
    amended = write_plan(text.replace(block, f"title: {SECOND_MEETING}\n        deadline: Ноябрь 2024 г."),
                         "orenburg-amended.yaml")
    assert load(orenburg, amended, actor=None, now=AMENDED).applied
    assert row() == [(ob_id, "2024-11", dt.date(2024, 11, 30), "active")]  # the same row, moved

    body = web.get(url).content
    assert body == expected(orenburg).body
    after = meeting(body)
    assert after["DTSTART"].dt == dt.date(2024, 11, 30)
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert str(after["UID"]) == str(before["UID"])


# --- tokens that open nothing --------------------------------------------------------------------

def test_every_token_that_opens_nothing_gets_the_unknown_page(orenburg, web):
    feed_id, token = subscribe(orenburg)
    _, other = subscribe(orenburg, owner="sovet")
    unknown = web.get("/no/such/page")
    assert unknown.status_code == 404
    assert "Страница не найдена" in unknown.text
    assert web.get(f"/ical/{token}.ics").status_code == 200
    feeds.revoke(orenburg, feed_id, by="uo", now=AMENDED)
    addresses = [
        "/ical/" + "A" * 22 + ".ics",  # the shape of a token, not one
        f"/ical/{token}.ics",  # revoked
        f"/ical/{token}",  # without .ics
        f"/ical/{other}",
        f"/ical/{other}.ICS",
        f"/ical/{other.upper()}.ics" if other.upper() != other else "/ical/x.ics",
        f"/ical/{other}x.ics",
        "/ical/" + other * 4 + ".ics",  # over 64 characters
        "/ical/" + "b" * 5000 + ".ics",
        "/ical/.ics",
    ]
    for address in addresses:
        r = web.get(address)
        assert r.status_code == 404, address
        assert r.content == unknown.content, address
        assert r.headers["content-type"] == unknown.headers["content-type"]
        assert "etag" not in r.headers and "last-modified" not in r.headers
        assert token not in r.text and other not in r.text
        assert_guarded(r)
        head = web.head(address)
        assert head.status_code == 404 and head.content == b""
    # A trailing slash is Starlette's redirect to the address without it, the same for a live
    # token and a dead one: it tells nothing either.
    web.follow_redirects = False
    for live, dead in ((other, token), (other, "A" * 22)):
        a, b = web.get(f"/ical/{live}.ics/"), web.get(f"/ical/{dead}.ics/")
        assert a.status_code == b.status_code == 307
        assert a.headers["location"].endswith(f"/ical/{live}.ics") and b.headers["location"].endswith(
            f"/ical/{dead}.ics")
        assert a.content == b.content == b""
    # The other subscription still works: the refusal was about the token, not the plan.
    assert web.get(f"/ical/{other}.ics").status_code == 200


def test_no_sign_in_and_no_csrf_are_needed(orenburg, app_of):
    _, token = subscribe(orenburg)
    app = app_of(orenburg, base_url=BASE_URL)
    # A fresh client: no session, no CSRF cookie, nothing but the address.
    fresh = client(app, host=HOST)
    fresh.follow_redirects = False
    r = fresh.get(f"/ical/{token}.ics")
    assert r.status_code == 200
    assert r.content == expected(orenburg).body
    assert "location" not in r.headers
    # The coordinator's pages of the same app do ask for a sign-in: the route is the exception.
    assert fresh.get(f"/plans/{ORENBURG}").status_code in (303, 307)
    assert_guarded(r)
