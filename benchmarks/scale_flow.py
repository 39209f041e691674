"""Prefect's share of a plan run: the plan flow against the same service calls without Prefect
(`plan_run.steps`) on two copies of the same store, first and repeated sweep of a day.

The measuring runs in a child process of its own (`python -m benchmarks.scale_flow child …`):
Prefect reads its settings (PREFECT_HOME, offline switches) when first imported, and its
ephemeral API must be this benchmark's alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.figures import Section, ratio, seconds
from benchmarks.region import region_plan

DAY = "2025-03-20T09:00+05:00"


def sections(schools: int, work: Path) -> list[Section]:
    plan = work / "region.yaml"
    plan.write_text(region_plan(schools), encoding="utf-8")
    prepared = work / "prepared.db"
    from nok_workflow import clock
    from nok_workflow.services.commands import plans
    from nok_workflow.store.db import connect

    engine = connect(f"sqlite:///{prepared}")
    plans.load(engine, plan, actor=None, now=clock.parse_now("2025-01-09T09:00+05:00"))
    engine.dispose()
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING", "NOK_HOME": str(work / "home")}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-m", "benchmarks.scale_flow", "child", str(work), str(prepared)],
                          env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.scale_flow child failed:\n{done.stderr[-3000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    s = Section("Prefect's share of a plan run",
                f"One plan of {schools:,} schools ({r['obligations']:,} obligations, {r['steps']} item steps) "
                "swept on 20.03 twice (first, then again the same day) by the plan flow on one copy of the "
                "store and by `plan_run.steps` (the same service calls, no Prefect) on another. Prefect as "
                "`nok serve` runs it (its API in the process, no heartbeats). Its fixed costs are shown apart: "
                "start-up (import, API, the first empty flow) and an empty flow run's own cost.")
    s.add("Prefect's fixed start-up: import, local API, the first empty flow run", seconds(r["startup"]))
    s.add("Prefect's fixed cost of a run: an empty flow", seconds(r["per_run"]))
    for label, key in (("first sweep of the day", "first"), ("repeated sweep of the same day", "again")):
        flow, direct = r[f"flow_{key}"], r[f"direct_{key}"]
        s.add(f"plan flow, {label}", seconds(flow), baseline=f"without Prefect {seconds(direct)}",
              target="≤ 1.5× baseline + a run's fixed cost", met=flow <= 1.5 * direct + r["per_run"])
        s.add(f"— (flow − fixed cost) / without Prefect, {label}", ratio((flow - r["per_run"]) / direct))
    s.add("parameters a step receives (pickled, largest step)", f"{r['step_parameters']:,} bytes",
          target="not growing with organisations", met=None)
    return [s]


def child(work: Path, prepared: Path) -> None:
    flow_db, direct_db = work / "flow.db", work / "direct.db"
    shutil.copy(prepared, flow_db)
    shutil.copy(prepared, direct_db)
    os.environ["NOK_DATABASE_URL"] = f"sqlite:///{flow_db}"
    start = time.perf_counter()
    from nok_workflow.runtime.local_api import LocalAPI

    api = LocalAPI()  # Prefect as `nok serve` runs it: its API in this process, no heartbeats
    api.start()
    from prefect import flow

    @flow(name="empty")
    def empty() -> None:
        return None

    empty()
    startup = time.perf_counter() - start
    start = time.perf_counter()
    empty()
    per_run = time.perf_counter() - start
    import nok_workflow.runtime.flows as module
    from flows.plan_flow import plan_flow
    from nok_workflow import clock
    from nok_workflow.services.jobs import plan_run
    from nok_workflow.store.db import connect

    moment = clock.parse_now(DAY)
    found = {"startup": startup, "per_run": per_run}
    for key in ("first", "again"):
        start = time.perf_counter()
        state = plan_flow("region-2025", now=DAY, return_state=True)
        found[f"flow_{key}"] = time.perf_counter() - start
        assert state.is_completed(), state
    direct = connect(f"sqlite:///{direct_db}")
    for key in ("first", "again"):
        start = time.perf_counter()
        plan_run.steps(direct, "region-2025", moment)
        found[f"direct_{key}"] = time.perf_counter() - start
    # One more run (not timed) to read what Prefect hands each step, as the step sees it.
    sizes: list[int] = []

    def record(task, task_run, state) -> None:  # noqa: ANN001 - Prefect's hook signature
        import pickle

        from prefect.context import TaskRunContext

        sizes.append(len(pickle.dumps(dict(TaskRunContext.get().parameters))))

    module.item_step = module.item_step.with_options(on_completion=[record])
    assert plan_flow("region-2025", now=DAY, return_state=True).is_completed()
    found["steps"] = len(sizes)
    found["step_parameters"] = max(sizes)
    api.stop()
    from sqlalchemy import func, select

    from nok_workflow.store.models import Obligation

    with direct.connect() as conn:
        found["obligations"] = conn.execute(select(func.count()).select_from(Obligation)).scalar_one()
    print(json.dumps(found))


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(Path(sys.argv[2]), Path(sys.argv[3]))
