"""Commands as people run them, from start to exit: `nok sweep` and `nok evidence submit` with
and without a running `nok serve`, against Prefect's own cold start; the start-up of commands
that must not import Prefect; and what `nok serve` holds in memory with a region's store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.common import free_port
from benchmarks.figures import Section, seconds
from benchmarks.region import SIZES, write_region

ROOT = Path(__file__).resolve().parent.parent
TOUR_PLAN = ROOT / "plan_definitions" / "orenburg-raion-2024.yaml"
TOUR_NOW = "2024-10-08T09:00+05:00"
EMPTY_FLOW = "from prefect import flow\n@flow\ndef empty():\n    return None\nempty()\n"


def nok(*args: str, env: dict[str, str]) -> float:
    """Seconds from start to exit of one `nok` command (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("nok")), *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"nok {' '.join(args)}: {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took


def best(runs: int, work) -> float:  # noqa: ANN001
    return min(work(i) for i in range(runs))


def environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "NOK_HOME": str(home), "NOK_NOW": TOUR_NOW, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "COLUMNS": "120",
           # A busy machine starts Prefect's local API slower than its default 20 s allows.
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
    for key in ("PREFECT_API_URL", "NOK_DATABASE_URL", "PREFECT_HOME"):
        env.pop(key, None)
    return env


class Serve:
    """`nok serve` of a NOK_HOME in the background, until its first run of every plan is done."""

    def __init__(self, env: dict[str, str], plans: int) -> None:
        self.port = free_port()
        # Its output to a file: a pipe nobody reads fills up and stops the serve mid-run.
        self.log = Path(env["NOK_HOME"]).parent / f"serve-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as log:
            self.process = subprocess.Popen([str(Path(sys.executable).with_name("nok")), "serve", "--port",
                                             str(self.port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        start = time.perf_counter()
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nok serve ended: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    health = json.loads(answer.read())
                if health.get("runs", 0) >= plans:
                    self.started = time.perf_counter() - start  # until every plan's first run is done
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("nok serve did not finish its first runs in 15 minutes")

    def resident_mb(self) -> float:
        """Resident memory of the serve process and all its descendants (its Prefect API child)."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                parents[int(stat.parent.name)] = int(fields[1])
            except (OSError, ValueError, IndexError):
                continue
        tree, grew = {self.process.pid}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        total = 0
        for pid in tree:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
        return total / 1024

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sections(region: str, work: Path, repeats: int) -> list[Section]:
    """`repeats` 1 (the small run): each command once, first-time set-up included, and one
    `nok serve` for both parts (its store holds the tour plan and the small region)."""
    runs = 2 if repeats > 1 else 1
    schools, plans = SIZES[region]
    home = work / "tour"
    env = environment(home)
    nok("plan", "load", str(TOUR_PLAN), env=env)
    prefect_env = {**env, "PREFECT_HOME": str(work / "prefect")}

    def empty_flow(_: int) -> float:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", EMPTY_FLOW], env=prefect_env, capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"Prefect's empty flow failed:\n{done.stderr[-3000:]}")
        return time.perf_counter() - start

    if runs > 1:
        empty_flow(0)  # Prefect makes its database the first time: not part of a cold start
        nok("sweep", env=env)  # the same first-time set-up for nok's own Prefect home
    cold = best(runs, empty_flow)
    sweep_alone = best(runs, lambda _: nok("sweep", env=env))

    def submit(i: int) -> float:
        return nok("evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
                   "--url", f"https://example.org/protokol-{i}-{time.monotonic_ns()}", "--document-date",
                   "17.09.2024", env=env)

    submit_alone = best(runs, submit)
    if runs == 1:
        _load_region(home, work, region)
    serve = Serve(env, plans=1 if runs > 1 else 1 + plans)
    try:
        sweep_served = best(runs + 1, lambda _: nok("sweep", env=env))
        submit_served = best(runs + 1, submit)
        resident = None if runs > 1 else (serve.resident_mb(), serve.started)
    finally:
        serve.stop()
    deadline = best(runs + 1, lambda _: nok("deadline", "до 1 апреля 2025 г.", env=env))
    validate = best(runs + 1, lambda _: nok("plan", "validate", str(TOUR_PLAN), env=env))
    s = Section("Commands from start to exit",
                "The README's tour plan (Оренбургский район, 12 obligations), each command a new process as a "
                "person runs it, best of 2–3. Baseline: Prefect's own cold start — a new process importing "
                "Prefect and running one empty flow in ephemeral mode.")
    limit = cold + 1
    s.add("`nok sweep`, no `nok serve` running", seconds(sweep_alone), baseline=f"Prefect cold start {seconds(cold)}",
          target=f"≤ cold start + 1 s ({seconds(limit)})", met=sweep_alone <= limit)
    s.add("`nok evidence submit`, no `nok serve` running", seconds(submit_alone),
          baseline=f"Prefect cold start {seconds(cold)}", target=f"≤ cold start + 1 s ({seconds(limit)})",
          met=submit_alone <= limit)
    s.add("`nok sweep` through a running `nok serve`", seconds(sweep_served), target="≤ 2 s",
          met=sweep_served <= 2)
    s.add("`nok evidence submit` through a running `nok serve`", seconds(submit_served), target="≤ 1 s",
          met=submit_served <= 1)
    s.add("`nok deadline` start to exit (no Prefect import)", seconds(deadline), target="≤ 1 s", met=deadline <= 1)
    s.add("`nok plan validate` of the tour plan", seconds(validate), target="≤ 1 s", met=validate <= 1)

    if resident is None:
        region_env = {**environment(work / "region-home"), "NOK_NOW": "2025-03-20T09:00+05:00"}
        _load_region(work / "region-home", work, region)
        serve = Serve(region_env, plans=plans)
        try:
            resident = serve.resident_mb(), serve.started
        finally:
            serve.stop()
    m = Section("`nok serve` with a region's store",
                f"W-region `{region}` ({plans} plans, {schools:,} schools) loaded into NOK_HOME; `nok serve` "
                "started and left to finish its first run of every plan; resident memory (VmRSS) of its whole "
                "process tree, Prefect's local API child included.")
    m.add("start until every plan's first run is done", seconds(resident[1]))
    m.add("resident memory, process tree", f"{resident[0]:,.0f} MB", target="≤ 350 MB", met=resident[0] <= 350)
    return [s, m]


def _load_region(home: Path, work: Path, region: str) -> None:
    from benchmarks.scale_store import load_region
    from nok_workflow.settings import Settings
    from nok_workflow.store.db import connect

    home.mkdir(parents=True, exist_ok=True)
    engine = connect(Settings(home=home).store_url())
    load_region(engine, write_region(work / "region", region))
    engine.dispose()
