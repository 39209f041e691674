"""Benchmark: a region's list of organisations into a coordinator's directory, and its pages.

Part of `python -m benchmarks` (the `directory` benchmark).

A plan of N organisations without an address (one quarterly item each), then a CSV list of
the same N organisations with addresses (names as in the plan, so each fills a party):

  (a) the list's preview (read, match, one problem per row) and its apply (one transaction,
      bulk insert, parties linked in one executemany);
  (b) «без адреса» before the list (every organisation, open obligations counted in SQL);
  (c) the directory page with N entries: p95 of 60 requests (pages and searches) through
      the app in this process, signed in;
  (d) a 100,000-row list: how soon it is refused.

On SQLite, and on PostgreSQL when the server at --postgres answers.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import drop, postgres_database
from benchmarks.figures import Section, best_of, seconds

NOW = dt.datetime(2025, 1, 9, 4, tzinfo=dt.UTC)
PASSWORD = "benchmark password"


def plan_text(n: int) -> str:
    return yaml.safe_dump({
        "id": "dir-bench", "title": "Справочник: замер", "period": 2025, "coordinator": "uo",
        "directory": [{"id": "uo", "name": "Управление образования", "email": "uo@example.org"}],
        "groups": [{"id": "oo", "name": "Образовательные организации"}],
        "organisations": [{"id": f"org-{i:05d}", "name": f"МБОУ «Школа № {i}»", "group": "oo"} for i in range(n)],
        "sections": [{"number": "1.", "title": "Мероприятия", "items": [
            {"number": "1", "title": "Отчёт", "deadline": "Ежеквартально", "owners": ["@oo"]}]}],
    }, allow_unicode=True, sort_keys=False)


def list_text(n: int) -> str:
    rows = ["Полное наименование;Краткое наименование;Адрес эл. почты;Тип ОО;ИНН"]
    rows += [f"Муниципальное бюджетное общеобразовательное учреждение «Школа № {i}»;МБОУ «Школа № {i}»;"
             f"school{i}@example.org;Школы;{5600000000 + i}" for i in range(n)]
    return "\n".join(rows) + "\n"


def measure(url: str, n: int, work: Path, runs: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from nok_workflow.services.commands import accounts, directory_import, plans
    from nok_workflow.services.read import directory as read
    from nok_workflow.settings import Settings
    from nok_workflow.store.db import connect
    from nok_workflow.web.app import create_app
    from nok_workflow.web.context import WebContext

    engine = connect(url)
    plan = work / "plan.yaml"
    plan.write_text(plan_text(n), encoding="utf-8")
    plans.load(engine, plan, actor=None, now=NOW)
    accounts.add(engine, login="uo", name="УО", email=None, password=PASSWORD, now=NOW)
    listing = work / "организации.csv"
    listing.write_text(list_text(n), encoding="utf-8")
    found: dict[str, float] = {}
    found["missing"], (_, found["missing_n"]) = best_of(runs, lambda: read.missing(engine, "uo"))
    found["preview"], shown = best_of(runs, lambda: directory_import.preview(engine, "uo", listing))
    found["new"] = shown.counts()["new"]
    start = time.perf_counter()
    directory_import.apply(engine, "uo", listing, by="uo", now=NOW)
    found["apply"] = time.perf_counter() - start
    found["left"] = read.missing_total(engine, "uo")
    found["again"], _ = best_of(runs, lambda: directory_import.preview(engine, "uo", listing))

    app = create_app(WebContext(engine, Settings(home=work / "home"), b"b" * 32, trigger=lambda p, m: "—",
                                now_override="2025-01-09T09:00+05:00"))
    c = TestClient(app, base_url="http://127.0.0.1:8470")
    c.get("/login")
    c.post("/login", data={"login": "uo", "password": PASSWORD, "csrf": c.cookies["nok_csrf"]})
    c.get("/directory")
    times = []
    for i in range(60):
        params = {"page": 1 + (i * 7) % max(n // 50, 1)} if i % 2 else {"q": f"школа № {i * 97 % max(n, 1)}"}
        start = time.perf_counter()
        assert c.get("/directory", params=params).status_code == 200
        times.append(time.perf_counter() - start)
    found["page_p50"] = statistics.median(times)
    found["page_p95"] = statistics.quantiles(times, n=20)[-1]
    engine.dispose()
    return found


def refused_100k(work: Path) -> float:
    from nok_workflow.importer.org_list import read_org_list
    from nok_workflow.problems import InputError

    path = work / "100k.csv"
    path.write_text(list_text(100_000), encoding="utf-8")
    start = time.perf_counter()
    try:
        read_org_list(path)
    except InputError:
        return time.perf_counter() - start
    raise AssertionError("a 100,000-row list was not refused")


def sections(n: int, runs: int, postgres_url: str, no_postgres: bool) -> list[Section]:
    work = Path(tempfile.mkdtemp(prefix="nok-bench-directory-"))
    stores = [("SQLite", f"sqlite:///{work / 'nok.db'}", None)]
    if not no_postgres and (pg := postgres_database(postgres_url)) is not None:
        stores.append(("PostgreSQL", pg[1], pg[0]))
    made = []
    try:
        for backend, url, _ in stores:
            folder = work / backend
            folder.mkdir()
            r = measure(url, n, folder, runs)
            s = Section(f"Directory, {backend}: a list of {n:,} organisations",
                        f"a plan of {n:,} organisations without an address; a CSV list of the same with addresses "
                        f"(matched by name); best of {runs} runs but the apply (once); the page through the app "
                        "in this process, 60 requests, half of them searches.")
            s.add(f"«без адреса» with open obligations ({r['missing_n']:,} parties)", seconds(r["missing"]))
            s.add(f"list preview ({r['new']:,} new rows)", seconds(r["preview"]), target="≤ 5 s",
                  met=r["preview"] <= 5)
            s.add(f"list apply, one transaction ({r['left']:,} left without an address)", seconds(r["apply"]),
                  target="≤ 5 s", met=r["apply"] <= 5)
            s.add("the same list again: preview, every row unchanged", seconds(r["again"]))
            s.add(f"directory page with {n:,} entries, p50 / p95",
                  f"{r['page_p50'] * 1000:,.0f} / {r['page_p95'] * 1000:,.0f} ms", target="p95 ≤ 100 ms",
                  met=r["page_p95"] <= 0.1)
            made.append(s)
        s = Section("Directory: a list too long", "a CSV list of 100,000 rows: refused with a message (more than "
                                                  "20,000 rows is not one region's list), before anything is matched.")
        took = refused_100k(work)
        s.add("refused after", seconds(took), target="≤ 5 s", met=took <= 5)
        made.append(s)
    finally:
        for _, url, admin in stores:
            if admin is not None:
                drop(admin, url)
        shutil.rmtree(work, ignore_errors=True)
    return made
