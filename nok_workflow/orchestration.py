"""Where a plan's flow runs: a Prefect server (scale-out), the local `nok serve`, or here.

A run asked for after new evidence is *coalesced*: at most one run of a plan is running and
one waiting. A request while a run waits adds nothing — the waiting run has not started, so
it will read the new evidence; a request while a run is running makes the one waiting run.
On a Prefect server that is an idempotency key naming the plan's last started run (two
requests racing for the same waiting run get the same run) plus a deployment concurrency
limit of 1; in `nok serve` it is `PlanRuns` (nok_workflow/serve.py).

A `nok sweep` goes the same three ways: the Prefect server's flows when one is configured,
else the running `nok serve` (`POST /api/sweep`: its warm flows run the plans, the answer
streams back a line per plan), else the same service calls here without Prefect — a cold
Prefect start (~10 s) for a minute's work is not worth it.

Prefect is imported only on the paths that need it (its import costs ~2 s); the path through
`nok serve` imports neither Prefect nor SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy loads only where the store is used here
    from sqlalchemy import Engine

PLAN_FLOW = "nok-plan"
# Prefect talks to nobody outside this machine in embedded mode.
OFFLINE_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
               "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false"}
# A plan run here retries a locked store or a dropped connection as the flow's steps do.
RETRY_DELAYS = (1, 3, 10)
# `nok serve` sends a blank line this often while a sweep's plans run: a silent connection
# for longer than SWEEP_SILENCE means the server is gone.
SWEEP_KEEPALIVE = 5.0
SWEEP_SILENCE = 120.0


def server_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def deploy_plan(plan_id: str, hour: int, timezone: str, settings: Settings | None = None) -> str:
    """A deployment of the plan flow for this plan: daily at its local hour, one run at a
    time (a second waits). Needs a Prefect server (PREFECT_API_URL).

    It carries no environment: the worker's own NOK_DATABASE_URL, NOK_SMTP_* and secrets
    apply, so nothing secret is readable through the Prefect API and no NOK_NOW is frozen
    into future runs. Its entrypoint is the installed module (`flows.plan_flow`), so no
    path of the deploying machine is stored either.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.plan_flow import plan_flow

    settings = settings or Settings()
    try:
        deployment = plan_flow.to_deployment(
            name=plan_id, parameters={"plan_id": plan_id}, tags=["nok"],
            description=f"План «{plan_id}»: ежедневно в {hour}:00 ({timezone}) и после каждого документа",
            schedules=[Cron(f"0 {hour} * * *", timezone=timezone)],
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment_id = deployment.apply(work_pool_name=settings.work_pool)
    except Exception as exc:  # noqa: BLE001 - Prefect reports a missing pool or server many ways
        raise InputError([Problem("PREFECT_API_URL", 0, 0,
                                  f"не удалось зарегистрировать развёртывание плана «{plan_id}»: {exc}. "
                                  f"Пул рабочих создаётся так: prefect work-pool create {settings.work_pool} "
                                  "--type process")]) from None
    return str(deployment_id)


def request_server_run(plan_id: str, now: dt.datetime | None, allow_past: bool = False) -> str:
    """Ask the Prefect server for a run of the plan's deployment, coalesced; the run's name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, FlowRunFilter, FlowRunFilterStartTime
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(f"{PLAN_FLOW}/{plan_id}")
        started = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [deployment.id]}),
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(is_null_=False)),
            sort=FlowRunSort.START_TIME_DESC, limit=1)
        after = started[0].id if started else "none"
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters=({"now": now.isoformat()} if now else {}) | (
                {"allow_past": True} if allow_past else {}),
            idempotency_key=f"nok-evidence:{plan_id}:after:{after}", tags=["evidence"])
    return run.name


def serve_info(settings: Settings) -> dict | None:
    """The running `nok serve` of this store, if any (it writes NOK_HOME/serve.json).

    A serve.json left by a `nok serve` killed with SIGKILL is recognised as stale: a live
    one holds serve.lock (an flock the kernel drops with the process), whatever the pid.
    """
    path = settings.home / "serve.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        with open(settings.home / "serve.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # we got it: nobody serves
        return None
    except BlockingIOError:
        return info if isinstance(info, dict) and "url" in info else None
    except (OSError, ValueError):
        return None


def trigger_plan(engine: Engine, plan_id: str, settings: Settings, now: dt.datetime | None = None,
                 allow_past: bool = False) -> str:
    """Run the plan's flow soon after new evidence; returns how, in Russian, for the person.

    `now` is a simulated moment (--now / NOK_NOW) handed to the run; None: the runner's clock.
    Whatever cannot be reached is said, and the plan's steps then run here at once — the
    evidence is never left waiting for tomorrow's schedule without a word.
    """
    why = ""
    if server_configured():
        try:
            name = request_server_run(plan_id, now, allow_past)
            return f"запуск плана запрошен на сервере Prefect: {PLAN_FLOW}/{plan_id}, запуск «{name}»"
        except Exception as exc:  # noqa: BLE001 - an unreachable server or a missing deployment
            why = (f"сервер Prefect не принял запуск ({_reason(exc)}); "
                   if "ObjectNotFound" not in type(exc).__name__ else
                   f"на сервере Prefect нет развёртывания {PLAN_FLOW}/{plan_id} (см. nok plan deploy); ")
    else:
        info = serve_info(settings)
        if info is not None:
            query = f"?now={now.isoformat()}" if now else ""
            request = urllib.request.Request(f"{info['url']}/api/plans/{plan_id}/run{query.replace('+', '%2B')}",
                                             method="POST", data=b"", headers=_signed(settings))
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    answer = json.loads(response.read())
                return f"nok serve ({info['url']}): {answer['status']}"
            except (urllib.error.URLError, TimeoutError, ValueError, KeyError) as exc:
                why = f"nok serve ({info['url']}) не ответил ({_reason(exc)}); "
    from nok_workflow import clock
    from nok_workflow.services.sweep import sweep_plan

    # The steps only: the quarter's report waits for the day's sweep (as it always has here).
    sweep_plan(engine, plan_id, now or clock.now(), allow_past)
    return why + ("шаги плана выполнены здесь" if why else "шаги плана выполнены сразу (nok serve не запущен)")


def _signed(settings: Settings) -> dict[str, str]:
    """The run token of this store: only `nok` commands that can read its key ask for runs."""
    from nok_workflow.tokens import run_token, secret

    return {"Authorization": f"Bearer {run_token(secret(settings.home))}"}


def _transient(exc: BaseException) -> bool:
    """A locked database or a dropped connection (flows.plan_flow.transient_fault's rule)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def run_here(engine: Engine, settings: Settings, plan_id: str, now: dt.datetime, allow_past: bool = False) -> None:
    """The plan flow's work in this process without Prefect: the steps in the flow's order,
    then the quarter's report on its report day. Each step is one transaction and a step
    run twice on a day changes nothing more, so a transient fault retries the whole run."""
    from nok_workflow.services.quarterly import issue_due
    from nok_workflow.services.sweep import sweep_plan

    for delay in (*RETRY_DELAYS, None):
        try:
            sweep_plan(engine, plan_id, now, allow_past)
            issue_due(engine, settings, plan_id, now)
            return
        except Exception as exc:
            if delay is None or not _transient(exc):
                raise
            time.sleep(delay)


def sweep_targets(engine: Engine, plans: list[str], now: dt.datetime, allow_past: bool) -> list[str]:
    """The plans a sweep runs (the named ones, else all), each checked before any starts:
    an unknown plan or a day before a plan's last run is refused up front."""
    from sqlalchemy import select
    from sqlmodel import Session

    from nok_workflow.services.catalog import require
    from nok_workflow.services.sweep import check_run_day
    from nok_workflow.store.models import Plan

    require(engine, plans=plans)
    if not plans:
        with Session(engine) as session:
            plans = list(session.execute(select(Plan.id).order_by(Plan.id)).scalars())
    for plan_id in plans:
        check_run_day(engine, plan_id, now, allow_past)
    return plans


def failure_reason(exc: BaseException) -> str:
    """A failed plan run's reason as the person needs it: a user's mistake as its own message."""
    if isinstance(exc, InputError):
        return "; ".join(p.message for p in exc.problems)
    return _reason(exc)


class ServeUnreachable(Exception):
    """`nok serve` did not take the request; nothing was started there."""


def sweep_through_serve(info: dict, settings: Settings, plans: list[str], now: dt.datetime,
                        allow_past: bool) -> Iterator[dict[str, Any]]:
    """Ask the running `nok serve` to sweep; yields its answer as it comes: first
    {"plans": [...]}, then {"plan", "ok", "why"} per plan, then {"dispatch": {...}} or
    {"problem": "..."}. A refusal (unknown plan, a day in the past) is an InputError, as
    here; no answer at all is ServeUnreachable (the caller then runs the plans itself)."""
    query = urllib.parse.urlencode([("plan", p) for p in plans] + [("now", now.isoformat())]
                                   + ([("allow_past", "true")] if allow_past else []))
    request = urllib.request.Request(f"{info['url']}/api/sweep?{query}", method="POST", data=b"",
                                     headers=_signed(settings))
    try:
        response = urllib.request.urlopen(request, timeout=SWEEP_SILENCE)  # noqa: S310 - our own loopback URL
    except urllib.error.HTTPError as exc:
        with exc:
            body = _json(exc.read())
        if exc.code == 422 and isinstance(body.get("problems"), list):
            raise InputError([Problem(**p) for p in body["problems"]]) from None
        raise ServeUnreachable(f"HTTP {exc.code}: {body.get('detail') or body.get('error') or ''}".strip()) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ServeUnreachable(_reason(exc)) from None
    with response:
        for line in response:
            if line.strip():  # blank lines only keep the connection alive
                yield json.loads(line)


def _json(data: bytes) -> dict:
    try:
        body = json.loads(data)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
