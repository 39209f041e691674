"""The plan flow: one step per plan item, named as in the plan, ordered as `depends_on` says.

Each step does its item's work in bulk against the store (nok_workflow.services.sweep) and
ends in a state named after the item's state — «Ожидает документ», «Просрочено»,
«Выполнено» — so the Prefect UI reads like the plan. Waiting for evidence holds no process:
the wait is in the store, and every run takes up where the last one left off.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State
from sqlalchemy.exc import DBAPIError, OperationalError

from flows.engine import store_engine
from nok_workflow import clock
from nok_workflow.services import quarterly, sweep
from nok_workflow.settings import Settings


def transient_fault(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry hook
    """Retry a locked database or a dropped connection; anything else fails at once."""
    try:
        state.result()
    except OperationalError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:  # noqa: BLE001 - a real error: no retry
        return False
    return False


RETRIES = {"retries": 3, "retry_delay_seconds": [1, 3, 10], "retry_condition_fn": transient_fault,
           "cache_policy": NO_CACHE}


@task(name="Подготовка: относительные сроки и порядок шагов", **RETRIES)
def prepare_step(plan_id: str, now: dt.datetime, allow_past: bool) -> list[sweep.Step]:
    return sweep.prepare(store_engine(), plan_id, now, allow_past).steps


# A step's parameters are small and the same size for 3 schools or 30,000: Prefect walks
# every parameter (twice) for each step, so the plan's context (every organisation) is
# looked up inside the step, cached per process and plan version (sweep.plan_context).
@task(**RETRIES)
def item_step(plan_id: str, item_id: int, now: dt.datetime) -> State:
    engine = store_engine()
    outcome = sweep.process_item(engine, sweep.plan_context(engine, plan_id), item_id, now)
    return Completed(name=outcome.label, message=outcome.message,
                     data={"key": outcome.key, "label": outcome.label, "counts": outcome.counts,
                           "changed": outcome.changed, "queued": outcome.queued})


@task(name="Квартальный отчёт", **RETRIES)
def report_step(plan_id: str, period: Any, now: dt.datetime) -> State:
    issued = quarterly.issue(store_engine(), Settings(), plan_id, period, now)
    return Completed(name="Отчёт сформирован", message=f"Отчёт за {period.label}: {issued.files['docx'].name}",
                     data={"quarter": period.code, "evidence": issued.evidence_id, "queued": issued.queued})


def step_name(step: sweep.Step) -> str:
    title = " ".join(step.title.split())
    return f"{step.key} {title[:90]}{'…' if len(title) > 90 else ''}"


@lru_cache(maxsize=4096)
def named(base: Any, name: str) -> Any:
    """`base` under the step's name, made once per process: `with_options` reads the
    function's source (inspect.getsource) every time it is called."""
    return base.with_options(name=name)


@flow(name="nok-plan", flow_run_name="{plan_id}")
def plan_flow(plan_id: str, now: str | None = None, allow_past: bool = False) -> dict[str, Any]:
    """Run a plan's daily work now (or at ``now``, an ISO date-time, for simulation). A day
    earlier than the plan's last run is refused unless ``allow_past``."""
    moment = clock.now(now)
    steps = prepare_step(plan_id, moment, allow_past)
    futures = {}
    for step in steps:
        futures[step.key] = named(item_step, step_name(step)).submit(
            plan_id, step.item_id, moment, wait_for=[futures[d] for d in step.depends_on if d in futures]
        )
    outcomes = {key: future.result() for key, future in futures.items()}
    result = {"plan": plan_id, "at": moment.isoformat(), "steps": outcomes}
    # After the day's statuses: the quarter's report, on its report day (services/quarterly.py).
    if (period := quarterly.due_quarter(store_engine(), plan_id, moment)) is not None:
        result["report"] = report_step.submit(plan_id, period, moment, wait_for=list(futures.values())).result()
    return result
