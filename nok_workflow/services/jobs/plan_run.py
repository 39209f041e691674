"""A plan run, defined once.

A run of a plan is its day's work: the relative deadlines refreshed and the run's day
checked (`prepare`), one step per item in dependency order (`step`: statuses, reminders,
escalations), then — on a quarter's report day, once all the steps are done — the
quarter's report (`report_due`, `report`). Each part is one transaction, and a part run
twice on one day changes nothing more, so a transient fault can always be retried.

Three callers, one definition:
- the Prefect flow (`nok_workflow/runtime/flows.py`) makes each part a task, with the
  retries of `RETRY`;
- `nok serve`'s `PlanRuns` runs that flow, and retries a run Prefect itself could not
  create or finish after `RETRY.run_delays`;
- a run without Prefect (`run`: `nok sweep`, and `nok evidence submit` — its steps only — with neither a
  Prefect server nor a `nok serve`) calls the parts in the same order, with the same
  retries.

Which of these a request takes is decided in one place: `nok_workflow/runtime/orchestrate.py`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from nok_workflow.services.jobs import quarterly, sweep
from nok_workflow.services.read.catalog import require
from nok_workflow.settings import Settings
from nok_workflow.store.models import Plan

if TYPE_CHECKING:
    from nok_workflow.reports.model import Period


@dataclass(frozen=True)
class RetryPolicy:
    """When a run is tried again. One policy for every way a run goes."""

    # A locked store or a dropped connection: the part again, after these delays (seconds).
    part_delays: tuple[float, ...] = (1.0, 3.0, 10.0)
    # A run the orchestrator could not create or finish (Prefect's API refused, or its own
    # database stayed locked through its client's retries): the run again, then kept on the plan.
    run_delays: tuple[float, ...] = (10.0, 60.0, 300.0)

    @staticmethod
    def transient(exc: BaseException) -> bool:
        """A fault worth retrying: a locked database or a dropped connection. Anything else
        (a user's mistake, a bug) fails at once."""
        if isinstance(exc, OperationalError):
            return True
        return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


RETRY = RetryPolicy()

# The parts of a run, as the Prefect flow makes them tasks.
prepare = sweep.prepare
context = sweep.plan_context  # what a step needs of its plan, cached per version
step = sweep.process_item
report_due = quarterly.due_quarter
Step = sweep.Step
ItemOutcome = sweep.ItemOutcome


def report(engine: Engine, settings: Settings, plan_id: str, period: Period, now: dt.datetime) -> quarterly.Issued:
    return quarterly.issue(engine, settings, plan_id, period, now)


@dataclass
class RunResult:
    steps: list[ItemOutcome]
    report: quarterly.Issued | None


def steps(engine: Engine, plan_id: str, now: dt.datetime, allow_past: bool = False) -> list[ItemOutcome]:
    """The day's steps of the plan, in the flow's order (no report, no retries): what the
    sweep's own tests and benchmarks measure."""
    context = prepare(engine, plan_id, now, allow_past)
    return [step(engine, context, s.item_id, now) for s in context.steps]


def run(engine: Engine, settings: Settings, plan_id: str, now: dt.datetime, allow_past: bool = False, *,
        with_report: bool = True, retry: RetryPolicy = RETRY,
        sleep: Callable[[float], None] = time.sleep) -> RunResult:
    """The whole run in this process without Prefect: the steps, then the quarter's report on
    its day. A transient fault retries the run (each part is idempotent within a day).

    `with_report=False`: the steps only — a run asked for after an upload in a process with
    neither a Prefect server nor `nok serve` leaves the report to the day's sweep."""
    for delay in (*retry.part_delays, None):
        try:
            outcomes = steps(engine, plan_id, now, allow_past)
            period = report_due(engine, plan_id, now) if with_report else None
            return RunResult(outcomes, report(engine, settings, plan_id, period, now) if period else None)
        except Exception as exc:
            if delay is None or not retry.transient(exc):
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def targets(engine: Engine, plans: list[str], now: dt.datetime, allow_past: bool) -> list[str]:
    """The plans a sweep runs (the named ones, else all), each checked before any starts:
    an unknown plan or a day before a plan's last run is refused up front."""
    require(engine, plans=plans)
    if not plans:
        with Session(engine) as session:
            plans = list(session.execute(select(Plan.id).order_by(Plan.id)).scalars())
    for plan_id in plans:
        sweep.check_run_day(engine, plan_id, now, allow_past)
    return plans
