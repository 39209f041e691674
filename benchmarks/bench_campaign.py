"""Benchmark: an assessment campaign — a zip of many organisations' plan documents to their
drafts, and the campaign's dashboard under concurrent load.

Part of `python -m benchmarks` (the `campaign` benchmark).

A zip of `orgs` plans in the official №457 form, Word (10 measures each) goes through the page a coordinator uses
(POST /coordinator/campaigns/{id}/upload, the web app in its own process as `nok serve` runs
it) until its result page lists every draft; the drafts are applied (the plans load) and swept;
then the campaign's dashboard is loaded by a fixed number of keep-alive clients for a fixed time,
and, as the baseline, one of its plans' own dashboard by the same clients.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

from benchmarks.bench_web import NOW, PASSWORD, SERVER, python_load, timed_get, wrk
from benchmarks.common import drop, free_port, postgres_database, wait_until_up

MEASURES = 10
MONTHS = ("октября", "ноября", "декабря")


def school(n: int) -> str:
    return f"МБОУ «СОШ № {n}»"


def document(n: int, measures: int = MEASURES) -> bytes:
    """A school's plan in the official №457 form (.docx, the two-level header, merged cells):
    `measures` rows over the five criteria, deadlines in October–December 2025."""
    from tests.support.form457_documents import PEOPLE, form457_docx

    rows = [{"criterion": m % 5 + 1, "shortcoming": f"Недостаток {m % 5 + 1} школы № {n}",
             "title": f"Мероприятие {m + 1} школы № {n}", "deadline": f"до {m + 4} {MONTHS[m % 3]} 2025 г.",
             "owners": [PEOPLE[1 + m % 2]["name"]]} for m in range(measures)]
    rows.sort(key=lambda r: r["criterion"])
    with tempfile.TemporaryDirectory(prefix="nok-bench-form-") as folder:
        return form457_docx(Path(folder) / "plan.docx", org=school(n), people=PEOPLE, measures=rows).read_bytes()


def archive(orgs: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as packed:
        for n in range(1, orgs + 1):
            packed.writestr(f"школа-{n}.docx", document(n))
    return out.getvalue()


def _sign_in(c: httpx.Client) -> None:
    c.get("/login")
    r = c.post("/login", data={"login": "uo", "password": PASSWORD, "csrf": c.cookies["nok_csrf"]})
    assert r.status_code == 303, (r.status_code, r.text[:300])


def _prepare(url: str, orgs: int) -> None:
    from nok_workflow import clock
    from nok_workflow.services.commands import accounts, campaigns, directory
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=now)
    campaigns.create(engine, owner="uo", title="НОК 2025", year=2025, now=now)
    for n in range(1, orgs + 1):  # the coordinator's list of schools, loaded before the campaign
        directory.add(engine, "uo", directory.EntryFields(name=school(n)), by="uo", now=now, entry_id=f"sosh-{n}")
    engine.dispose()


def _apply_all(url: str) -> tuple[int, float]:
    """Every open draft of the campaign applied and its plan swept, as the coordinator's «Применить» does."""
    from sqlalchemy import select
    from sqlmodel import Session

    from nok_workflow import clock
    from nok_workflow.services.commands import drafts
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.store.db import connect
    from nok_workflow.store.models import PlanDraft

    engine = connect(url)
    now = clock.parse_now(NOW)
    with Session(engine) as session:
        ids = list(session.execute(select(PlanDraft.id).where(PlanDraft.campaign_id == "nok-2025")).scalars())
    start = time.perf_counter()
    for draft_id in ids:
        plan_id = drafts.apply(engine, draft_id, owner="uo", now=now).diff.plan_id
        plan_run.steps(engine, plan_id, now)
    took = time.perf_counter() - start
    engine.dispose()
    return len(ids), took


def sections(orgs: int, clients: int, seconds: int, postgres_url: str, no_postgres: bool) -> list:
    from benchmarks.figures import Section

    packed = archive(orgs)
    found = []
    workdir = Path(tempfile.mkdtemp(prefix="nok-bench-campaign-"))
    stores = [("SQLite", f"sqlite:///{workdir / 'nok.db'}", None)]
    if not no_postgres and (pg := postgres_database(postgres_url)) is not None:
        stores.append(("PostgreSQL", pg[1], pg[0]))
    try:
        for backend, url, _ in stores:
            _prepare(url, orgs)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = subprocess.Popen([sys.executable, "-c", SERVER, str(workdir), url, str(port), NOW],
                                      env={**os.environ, "NOK_HOME": str(workdir)})
            try:
                wait_until_up(base)
                with httpx.Client(base_url=base, timeout=120) as c:
                    _sign_in(c)
                    start = time.perf_counter()
                    r = c.post("/coordinator/campaigns/nok-2025/upload", data={"csrf": c.cookies["nok_csrf"]},
                               files=[("files", ("планы.zip", packed, "application/zip"))])
                    uploaded = time.perf_counter() - start
                    made = len(re.findall(r'href="/drafts/', r.text))
                    assert r.status_code == 200 and made == orgs, (r.status_code, made, r.text[-2000:])
                    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
                applied, apply_took = _apply_all(url)
                page = "/coordinator/campaigns/nok-2025"
                status, cold, size = timed_get(base, page, cookie)
                assert status == 200, status
                _, warm, _ = timed_get(base, page, cookie)
                tool = "wrk" if shutil.which("wrk") else "httpx"

                def loaded(path: str) -> dict[str, float]:
                    return (wrk(base + path, cookie, clients, seconds, workdir) if tool == "wrk"
                            else python_load(base + path, cookie, clients, seconds))

                load = loaded(page)
                # Baseline: one of its plans' own dashboard, the same clients, same server, same run.
                one = "/plans/nok-2025-shkola-1"
                assert timed_get(base, one, cookie)[0] == 200
                plan_load = loaded(one)
            finally:
                server.terminate()
                server.wait(10)
            s = Section(f"Campaign, {backend}: a zip of {orgs} organisations' plans, and the campaign's dashboard",
                        f"A zip of {orgs} plans in the №457 form, Word ({orgs * MEASURES} measures, {len(packed) / 1024:,.0f} KB) "
                        "posted to the campaign's upload page (the web app in its own process, as `nok serve` runs "
                        f"it); the drafts applied and swept; the dashboard under {clients} keep-alive clients for "
                        f"{seconds} s from {tool} on the same machine.")
            s.add(f"zip → its result page, {orgs} drafts to review", f"{uploaded:,.2f} s", target="≤ 10 s",
                  met=uploaded <= 10)
            s.add("— per document", f"{uploaded / orgs * 1000:,.0f} ms")
            s.add(f"{applied} drafts applied and swept (a plan each)", f"{apply_took:,.1f} s")
            s.add(f"dashboard, first request (computed, {size / 1024:,.0f} KB)", f"{cold:,.0f} ms")
            s.add("dashboard, next request (unchanged store)", f"{warm:,.1f} ms")
            s.add("requests served, errors", f"{load['requests']:,.0f} ({load['requests'] / seconds:,.0f}/s), "
                  f"{load['errors']:.0f} errors",
                  f"one plan's dashboard {plan_load['requests'] / seconds:,.0f}/s",
                  target="0 errors", met=load["errors"] == 0)
            s.add("latency p50 / p95 / p99 / max", f"{load['p50']:.1f} / {load['p95']:.1f} / {load['p99']:.1f} / "
                  f"{load['max']:.1f} ms",
                  f"one plan's dashboard {plan_load['p50']:.1f} / {plan_load['p95']:.1f} / {plan_load['p99']:.1f} / "
                  f"{plan_load['max']:.1f} ms", target="p95 ≤ 100 ms", met=load["p95"] <= 100)
            found.append(s)
    finally:
        for _, url, admin in stores:
            if admin is not None:
                drop(admin, url)
        shutil.rmtree(workdir, ignore_errors=True)
    return found
