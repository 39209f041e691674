"""Benchmark: a calendar feed of a whole plan (~5,000 events), built and served.

Part of `python -m benchmarks` (the `ical` benchmark).

Builds a store with the synthetic region plan (`benchmarks/region.py`; 147 schools × 8 items
≈ 5,000 obligations), sweeps it once, then measures, each as a median of runs:

  (a) bare icalendar, cold: the same events as Event objects added to a Calendar, to_ical()
      — what serialising the feed with the package costs without any of our code;
  (b) calendar_feed.build, cold: every cache emptied (pieces, whole feeds, compiled plans);
  (c) calendar_feed.build, warm: the events' pieces cached, the whole-feed cache not used;
  (d) calendar_feed.served, hit: the whole feed kept (its change stamp remembered; and with
      the stamp read again from the store);
  (e) `GET /ical/<token>.ics` with If-None-Match → 304, over real HTTP against the web app in
      its own process (uvicorn, one worker, as `nok serve` runs it), one keep-alive client,
      a number of requests one after another: p50 / p95 (and the same for the full 200).

On SQLite, and on PostgreSQL when the server at --postgres answers.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.common import free_port, region_stores, wait_until_up

NOW = "2025-10-08T09:00+05:00"
PLAN = "region-2025"
KEY = b"b" * 32
BASE_URL = "http://127.0.0.1:8470"
TARGET_WARM_MS = 100.0
TARGET_304_MS = 5.0
SERVER = """
import sys
import uvicorn
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from nok_workflow.web.app import create_app
from nok_workflow.web.context import WebContext
home, url, port, now, base_url = sys.argv[1:6]
settings = Settings(home=home, database_url=None if url.startswith("sqlite") else url, base_url=base_url)
engine = connect(url)
app = create_app(WebContext(engine, settings, b"b" * 32, trigger=lambda p, m: "—", now_override=now))
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
"""



def median_ms(runs: int, work: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    """The median wall time of `work` over `runs` runs; `before` (not timed) runs ahead of each."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_store(url: str, plan_path: Path) -> tuple[int, str]:
    """The plan loaded and swept; a subscription to the whole plan. → (obligations, token)."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from nok_workflow import clock
    from nok_workflow.services.commands import feeds, plans
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.store.db import connect
    from nok_workflow.store.models import Obligation

    engine = connect(url)
    now = clock.parse_now(NOW)
    plans.load(engine, plan_path, actor=None, now=now)
    plan_run.steps(engine, PLAN, now)
    _, token = feeds.create(engine, name="замер", plan_id=PLAN, owner=None, org=None, by="minobr", now=now)
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Obligation)).scalar()
    engine.dispose()
    return count, token


def bare_events(body: bytes) -> list[dict]:
    """The feed's events as plain values, to build again with icalendar alone."""
    from icalendar import Calendar

    events = []
    for e in Calendar.from_ical(body).walk("VEVENT"):
        events.append({
            "uid": str(e["UID"]), "stamp": e["DTSTAMP"].dt, "sequence": int(e["SEQUENCE"]),
            "start": e["DTSTART"].dt, "end": e["DTEND"].dt, "summary": str(e["SUMMARY"]),
            "description": str(e["DESCRIPTION"]), "url": str(e["URL"]) if "URL" in e else None,
        })
    return events


def bare_icalendar(events: list[dict], name: str, timezone: str) -> bytes:
    """The baseline: the same calendar with the icalendar package directly, nothing cached."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//nok-workflow//Сроки НОК//RU")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for e in events:
        event = Event()
        event.add("uid", e["uid"])
        event.add("dtstamp", e["stamp"])
        event.add("last-modified", e["stamp"])
        event.add("sequence", e["sequence"])
        event.add("dtstart", e["start"])
        event.add("dtend", e["end"])
        event.add("transp", "TRANSPARENT")
        event.add("summary", e["summary"])
        event.add("description", e["description"])
        if e["url"]:
            event.add("url", e["url"])
        cal.add_component(event)
    return cal.to_ical()


def clear_caches() -> None:
    from nok_workflow.calendar import ics
    from nok_workflow.services.read import calendar_feed, compiled_plans

    calendar_feed._pieces.clear()
    calendar_feed._feeds.clear()
    compiled_plans._compiled.clear()
    ics._head.cache_clear()


def in_process(url: str, runs: int, requests: int) -> dict[str, object]:
    from nok_workflow.services.read import calendar_feed
    from nok_workflow.store import fresh
    from nok_workflow.store.db import connect
    from nok_workflow.store.models import Plan

    engine = connect(url)
    scope = calendar_feed.Scope(PLAN, None)

    def build() -> calendar_feed.Feed:
        return calendar_feed.build(engine, scope, base_url=BASE_URL, key=KEY)

    def served() -> calendar_feed.Feed:
        return calendar_feed.served(engine, scope, base_url=BASE_URL, key=KEY)

    clear_caches()
    feed = build()
    from sqlmodel import Session

    with Session(engine) as session:
        plan = session.get(Plan, PLAN)
        name, timezone = plan.title, plan.timezone
    events = bare_events(feed.body)
    assert len(events) == feed.events
    bare_body = bare_icalendar(events, name, timezone)
    result: dict[str, object] = {"events": feed.events, "size": len(feed.body), "bare_size": len(bare_body)}
    result["bare"] = median_ms(runs, lambda: bare_icalendar(events, name, timezone))
    result["cold"] = median_ms(runs, build, before=clear_caches)
    build()
    result["warm"] = median_ms(runs, build)
    assert build().body == feed.body
    served()
    result["served"] = median_ms(requests, served)
    result["served_reread"] = median_ms(requests, served, before=fresh._entries.clear)
    engine.dispose()
    return result


def over_http(workdir: Path, url: str, token: str, requests: int) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(workdir), url, str(port), NOW, BASE_URL],
                              env={**os.environ, "NOK_HOME": str(workdir)})
    try:
        wait_until_up(base)
        path = f"/ical/{token}.ics"
        with httpx.Client(base_url=base, timeout=60) as c:
            start = time.perf_counter()
            first = c.get(path)
            first_ms = (time.perf_counter() - start) * 1000
            assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar"), first
            etag = first.headers["etag"]
            full, cached = [], []
            for _ in range(requests):
                start = time.perf_counter()
                r = c.get(path, headers={"If-None-Match": etag})
                cached.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag, r.status_code
            for _ in range(max(20, requests // 10)):
                start = time.perf_counter()
                r = c.get(path)
                full.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and r.headers["etag"] == etag
    finally:
        server.terminate()
        server.wait(10)
    return {"first": first_ms, "p50": percentile(cached, 50), "p95": percentile(cached, 95),
            "max": max(cached), "full_p50": percentile(full, 50), "full_p95": percentile(full, 95)}


def sections(schools: int, runs: int, requests: int, postgres_url: str, no_postgres: bool) -> list:
    from benchmarks.figures import Section

    found = []
    with region_stores("ical", schools, postgres_url, no_postgres) as (workdir, plan_path, stores):
        for backend, url in stores:
            count, token = make_store(url, plan_path)
            r = {"obligations": count, **in_process(url, runs, requests),
                 **{f"http_{k}": v for k, v in over_http(workdir, url, token, requests).items()}}
            s = Section(f"Calendar feed, {backend}: a whole plan's feed built and served",
                        f"{r['events']:,} events ({count:,} obligations, {schools} schools), feed "
                        f"{r['size'] / 1024:,.0f} KB; medians of {runs} runs, of {requests} requests over HTTP "
                        "(the web app in its own process, as `nok serve` runs it). Baseline: the same events "
                        "built with bare icalendar (Event objects, Calendar.to_ical()).")
            bare = f"bare icalendar {r['bare']:,.1f} ms"
            s.add("calendar_feed.build, cold (caches cleared)", f"{r['cold']:,.1f} ms", bare, "≤ bare",
                  r["cold"] <= r["bare"])
            s.add("calendar_feed.build, warm (pieces cached)", f"{r['warm']:,.1f} ms", bare,
                  f"≤ {TARGET_WARM_MS:.0f} ms and ≤ bare", r["warm"] <= min(TARGET_WARM_MS, r["bare"]))
            s.add("calendar_feed.served, hit (stamp read from the store)", f"{r['served_reread']:,.2f} ms")
            s.add("GET with If-None-Match → 304 over HTTP, p50 / p95",
                  f"{r['http_p50']:,.2f} / {r['http_p95']:,.2f} ms", target=f"p95 ≤ {TARGET_304_MS:.0f} ms",
                  met=r["http_p95"] <= TARGET_304_MS)
            s.add("GET → 200 with the whole feed (kept), p50", f"{r['http_full_p50']:,.1f} ms")
            s.add("first GET after the server started (built cold)", f"{r['http_first']:,.0f} ms")
            found.append(s)
    return found
