"""Benchmark: the coordinator's dashboard over a region-sized store, under concurrent load.

    .venv/bin/python -m benchmarks.bench_web [--schools 6000] [--clients 50] [--seconds 15] [--postgres]

Builds the store (6,000 schools × 8 items ≈ 200k obligations), sweeps it, starts the web app
in its own process (uvicorn, one worker — as `nok serve` runs it), signs a coordinator in
and loads the dashboard with `wrk` (Debian's package) from a second process on loopback:
a fixed number of connections for a fixed time. Prints a Markdown table for
docs/benchmarks.md. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.common import free_port
from benchmarks.region import region_plan

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
    from nok_workflow.services import accounts, plans, sweep
    from nok_workflow.store.db import connect

    engine = connect(url)
    now = clock.parse_now(NOW)
    plans.load(engine, plan_path, actor=None, now=now)
    start = time.perf_counter()
    sweep.sweep_plan(engine, "region-2025", now)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("нужен wrk: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="nok-bench-web-"))
    plan_path = workdir / "region.yaml"
    plan_path.write_text(region_plan(args.schools), encoding="utf-8")
    admin = None
    if args.postgres:
        from sqlalchemy import create_engine, text

        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"nok_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.postgres.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{workdir / 'nok.db'}"
    count, swept = build(url, plan_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(workdir), url, str(port), NOW],
                              env={**os.environ, "NOK_HOME": str(workdir)})
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        cookie = sign_in(base)
        page = "/plans/region-2025"
        status, cold, size = timed_get(base, page, cookie)
        assert status == 200, status
        _, warm, _ = timed_get(base, page, cookie)
        load = wrk(base + page, cookie, args.clients, args.seconds, workdir)
    finally:
        server.terminate()
        server.wait(10)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"| measure ({args.schools:,} schools, {count:,} obligations, {backend}) | value |")
    print("|---|---|")
    print(f"| sweep before the run | {swept * 1000:,.0f} ms |")
    print(f"| dashboard, first request (computed) | {cold:,.0f} ms, {size / 1024:,.0f} KB |")
    print(f"| dashboard, next request (unchanged store) | {warm:,.1f} ms |")
    print(f"| {args.clients} clients × {args.seconds} s (wrk): requests, errors | {load['requests']:,.0f}, "
          f"{load['errors']:.0f} ({load['requests'] / args.seconds:,.0f}/s) |")
    print(f"| latency p50 / p95 / p99 / max | {load['p50']:.1f} / {load['p95']:.1f} / {load['p99']:.1f} / "
          f"{load['max']:.1f} ms |")
    if admin is not None:
        from sqlalchemy import text

        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
