"""The Prefect flows: a plan's run, the quarter's report on demand, the dispatch.

The plan flow is the plan run of `services/jobs/plan_run.py` with each part a task: one
step per plan item, named as in the plan, ordered as `depends_on` says, then the quarter's
report on its report day. Each step ends in a state named after the item's state —
«Ожидает документ», «Просрочено», «Выполнено» — so the Prefect UI reads like the plan.
Waiting for evidence holds no process: the wait is in the store, and every run takes up
where the last one left off.

Deployments find these through the thin entry points of the top-level `flows/` package
(`flows.plan_flow:plan_flow`, …), which `prefect.yaml` names.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State

from nok_workflow import clock
from nok_workflow.clock import plan_day
from nok_workflow.reports.model import parse_quarter, previous_quarter, report_period
from nok_workflow.runtime.engine import store_engine
from nok_workflow.services.delivery.dispatch import dispatch
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read.compiled_plans import current_plan
from nok_workflow.settings import Settings
from notifiers import from_settings

RETRY = plan_run.RETRY


def transient_fault(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry hook
    """Prefect's side of `RetryPolicy.transient`: the fault a failed task run raised."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - judged by the one rule
        return RETRY.transient(exc)
    return False


RETRIES = {"retries": len(RETRY.part_delays), "retry_delay_seconds": list(RETRY.part_delays),
           "retry_condition_fn": transient_fault, "cache_policy": NO_CACHE}


@task(name="Подготовка: относительные сроки и порядок шагов", **RETRIES)
def prepare_step(plan_id: str, now: dt.datetime, allow_past: bool) -> list[plan_run.Step]:
    return plan_run.prepare(store_engine(), plan_id, now, allow_past).steps


# A step's parameters are small and the same size for 3 schools or 30,000: Prefect walks
# every parameter (twice) for each step, so the plan's context (every organisation) is
# looked up inside the step, cached per process and plan version (plan_run.context).
@task(**RETRIES)
def item_step(plan_id: str, item_id: int, now: dt.datetime) -> State:
    engine = store_engine()
    outcome = plan_run.step(engine, plan_run.context(engine, plan_id), item_id, now)
    return Completed(name=outcome.label, message=outcome.message,
                     data={"key": outcome.key, "label": outcome.label, "counts": outcome.counts,
                           "changed": outcome.changed, "queued": outcome.queued})


@task(name="Квартальный отчёт", **RETRIES)
def report_step(plan_id: str, period: Any, now: dt.datetime) -> State:
    issued = plan_run.report(store_engine(), Settings(), plan_id, period, now)
    return Completed(name="Отчёт сформирован", message=f"Отчёт за {period.label}: {issued.files['docx'].name}",
                     data={"quarter": period.code, "evidence": issued.evidence_id, "queued": issued.queued})


def step_name(step: plan_run.Step) -> str:
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
    # After the day's statuses: the quarter's report, on its report day.
    if (period := plan_run.report_due(store_engine(), plan_id, moment)) is not None:
        result["report"] = report_step.submit(plan_id, period, moment, wait_for=list(futures.values())).result()
    return result


@flow(name="nok-quarterly-report", flow_run_name="{plan_id} {quarter}")
def quarterly_report_flow(plan_id: str, quarter: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Issue the report for ``quarter`` (e.g. 2024Q3; by default the quarter just ended):
    files in NOK_HOME/reports, the reporting item's document, the coordinator's digest."""
    moment, engine = clock.now(now), store_engine()
    timezone = current_plan(engine, plan_id).loaded.compiled.plan.timezone
    year, q = parse_quarter(quarter) if quarter else previous_quarter(plan_day(moment, timezone))
    issued = plan_run.report(engine, Settings(), plan_id, report_period(year, q), moment)
    t = issued.report.totals
    lines = [f"# Отчёт о выполнении плана за {issued.period.label}", "",
             "| в срок | с нарушением срока | не выполнено | в работе | отменено | всего |", "|---|---|---|---|---|---|",
             f"| {t.on_time} | {t.late} | {t.not_done} | {t.in_progress} | {t.cancelled} | {t.total} |", "",
             *(f"- `{path}`" for path in issued.files.values())]
    # Artifact keys are lowercase slugs with dashes only.
    create_markdown_artifact(key=re.sub(r"[^a-z0-9-]", "-", f"nok-{plan_id}-{issued.period.code}".lower()),
                             markdown="\n".join(lines), description=f"Отчёт за {issued.period.label}")
    return {"quarter": issued.period.code, "totals": t.model_dump(), "evidence": issued.evidence_id,
            "files": {fmt: str(path) for fmt, path in issued.files.items()}, "queued": issued.queued}


@task(name="Рассылка сводок", cache_policy=NO_CACHE)
def send(now: str | None) -> dict[str, Any]:
    settings = Settings()
    report = dispatch(store_engine(), from_settings(settings), settings, clock.now(now))
    return {"sent": report.sent, "retry": report.retry, "failed": report.failed, "errors": report.errors,
            "problem": report.problem, "held": report.held_text}


@flow(name="nok-dispatch")
def dispatch_flow(now: str | None = None) -> dict[str, Any] | State:
    """Send what is ready. An SMTP server that does not answer fails the run with the reason
    («SMTP-сервер не отвечает …»): the mails stay queued, and the outage is visible."""
    result = send(now)
    if result["problem"]:
        return Failed(message=result["problem"])
    return result
