"""Benchmark: the coordinator's dashboard over a region-sized store, under concurrent load.

Part of `python -m benchmarks` (the `web` benchmark).

Builds the store (6,000 schools × 8 items ≈ 200k obligations), sweeps it, starts the web app
in its own process (uvicorn, one worker — as `nok serve` runs it), signs a coordinator in
and loads the dashboard with `wrk` (Debian's package; httpx without it) from a second process:
a fixed number of connections for a fixed time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.common import free_port, wait_until_up

NOW = "2025-10-08T09:00+05:00"
PASSWORD = "benchmark password"
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d p50=%.1f p95=%.1f p99=%.1f max=%.1f\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""
SERVER = """
import sys
import uvicorn
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from nok_workflow.web.app import create_app
from nok_workflow.web.context import WebContext
home, url, port, now = sys.argv[1:5]
settings = Settings(home=home, database_url=None if url.startswith("sqlite") else url)
engine = connect(url)
app = create_app(WebContext(engine, settings, b"b" * 32, trigger=lambda p, m: "—", now_override=now))
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
"""



def build(url: str, plan_path: Path) -> tuple[int, float]:
    from nok_workflow import clock
    from nok_workflow.services.commands import accounts, plans
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    plans.load(engine, plan_path, actor=None, now=now)
    start = time.perf_counter()
    plan_run.steps(engine, "region-2025", now)
    swept = time.perf_counter() - start
    accounts.add(engine, login="minobr", name="Министерство образования", email=None, password=PASSWORD, now=now)
    from sqlalchemy import func, select
    from sqlmodel import Session

    from nok_workflow.store.models import Obligation

    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Obligation)).scalar()
    engine.dispose()
    return count, swept


def sign_in(base: str) -> str:
    with httpx.Client(base_url=base) as c:
        c.get("/login")
        r = c.post("/login", data={"login": "minobr", "password": PASSWORD, "csrf": c.cookies["nok_csrf"]})
        assert r.status_code == 303, (r.status_code, r.text[:300])
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


def timed_get(base: str, path: str, cookie: str) -> tuple[int, float, int]:
    start = time.perf_counter()
    r = httpx.get(base + path, headers={"Cookie": cookie}, timeout=120)
    return r.status_code, (time.perf_counter() - start) * 1000, len(r.content)


def wrk(url: str, cookie: str, clients: int, seconds: int, workdir: Path) -> dict[str, float]:
    script = workdir / "p95.lua"
    script.write_text(LUA)
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                          "-H", f"Cookie: {cookie}", url], capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT requests=(\d+) errors=(\d+) p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) max=([\d.]+)", out)
    keys = ("requests", "errors", "p50", "p95", "p99", "max")
    return dict(zip(keys, map(float, m.groups()), strict=True))


def python_load(url: str, cookie: str, clients: int, seconds: int) -> dict[str, float]:
    """When wrk is not installed: the same fixed number of keep-alive clients from httpx (a
    Python load generator shares the 2 cores with the server: figures are pessimistic)."""
    import asyncio
    import statistics

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal errors
            async with httpx.AsyncClient(headers={"Cookie": cookie}, timeout=10) as c:
                while time.perf_counter() < stop:
                    start = time.perf_counter()
                    try:
                        ok = (await c.get(url)).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    latencies.append((time.perf_counter() - start) * 1000)
                    errors += not ok

        await asyncio.gather(*(client() for _ in range(clients)))
        return latencies, errors

    latencies, errors = asyncio.run(run())
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": errors, "p50": q[49], "p95": q[94], "p99": q[98],
            "max": max(latencies)}


def sections(schools: int, clients: int, seconds: int, postgres_url: str, no_postgres: bool) -> list:
    from benchmarks.common import region_stores
    from benchmarks.figures import Section

    found = []
    with region_stores("web", schools, postgres_url, no_postgres) as (workdir, plan_path, stores):
        for backend, url in stores:
            count, _ = build(url, plan_path)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = subprocess.Popen([sys.executable, "-c", SERVER, str(workdir), url, str(port), NOW],
                                      env={**os.environ, "NOK_HOME": str(workdir)})
            try:
                wait_until_up(base)
                cookie = sign_in(base)
                page = "/plans/region-2025"
                status, cold, size = timed_get(base, page, cookie)
                assert status == 200, status
                _, warm, _ = timed_get(base, page, cookie)
                tool = "wrk" if shutil.which("wrk") else "httpx"
                load = (wrk(base + page, cookie, clients, seconds, workdir) if tool == "wrk"
                        else python_load(base + page, cookie, clients, seconds))
            finally:
                server.terminate()
                server.wait(10)
            s = Section(f"Coordinator's dashboard, {backend}: a region's plan under concurrent load",
                        f"{count:,} obligations ({schools:,} schools), swept; the web app in its own process "
                        f"(uvicorn, one worker, as `nok serve` runs it); {clients} keep-alive clients for "
                        f"{seconds} s from {tool} on the same machine.")
            s.add(f"dashboard, first request (computed, {size / 1024:,.0f} KB)", f"{cold:,.0f} ms")
            s.add("dashboard, next request (unchanged store)", f"{warm:,.1f} ms")
            s.add("requests served, errors", f"{load['requests']:,.0f} ({load['requests'] / seconds:,.0f}/s), "
                  f"{load['errors']:.0f} errors", target="0 errors", met=load["errors"] == 0)
            s.add("latency p50 / p95 / p99 / max", f"{load['p50']:.1f} / {load['p95']:.1f} / {load['p99']:.1f} / "
                  f"{load['max']:.1f} ms")
            found.append(s)
    return found
