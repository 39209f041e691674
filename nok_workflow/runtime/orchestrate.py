"""Where a plan run goes — decided here and nowhere else: a Prefect server (scale-out), the
local `nok serve`, or this process without Prefect (`services/jobs/plan_run.run`).

A run asked for after new evidence is *coalesced*: at most one run of a plan is running and
one waiting. A request while a run waits adds nothing — the waiting run has not started, so
it will read the new evidence; a request while a run is running makes the one waiting run.
On a Prefect server that is an idempotency key naming the plan's last started run (two
requests racing for the same waiting run get the same run) plus a deployment concurrency
limit of 1; in `nok serve` it is `PlanRuns` (runtime/plan_runs.py).

A `nok sweep` (`sweep`) goes the same three ways: the Prefect server's flows when one is
configured, else the running `nok serve` (`POST /api/sweep`: its warm flows run the plans,
the answer streams back a line per plan), else the plan runs here without Prefect — a cold
Prefect start (~10 s) for a minute's work is not worth it. Every way gives the same stream
of events, which the CLI shows.

Prefect is imported only on the paths that need it (its import costs ~2 s); the path through
`nok serve` imports neither Prefect nor SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy loads only where the store is used here
    from sqlalchemy import Engine

PLAN_FLOW = "nok-plan"
PLAN_FLOW_ENTRYPOINT = "flows.plan_flow.plan_flow"  # the thin entry point deployments keep
# Prefect talks to nobody outside this machine in embedded mode.
OFFLINE_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
               "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false"}
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
    into future runs. Its entrypoint is the installed module's public entry point
    (`flows.plan_flow.plan_flow`, as in prefect.yaml — not where the flow happens to be
    defined), so no path of the deploying machine is stored, and a move inside the package
    never strands a deployment.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from nok_workflow.runtime.flows import plan_flow

    settings = settings or Settings()
    try:
        deployment = plan_flow.to_deployment(
            name=plan_id, parameters={"plan_id": plan_id}, tags=["nok"],
            description=f"План «{plan_id}»: ежедневно в {hour}:00 ({timezone}) и после каждого документа",
            schedules=[Cron(f"0 {hour} * * *", timezone=timezone)],
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment.entrypoint = PLAN_FLOW_ENTRYPOINT
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
    detour = ""
    if server_configured():
        try:
            name = request_server_run(plan_id, now, allow_past)
            return f"запуск плана запрошен на сервере Prefect: {PLAN_FLOW}/{plan_id}, запуск «{name}»"
        except Exception as exc:  # noqa: BLE001 - an unreachable server or a missing deployment
            detour = (f"сервер Prefect не принял запуск ({reason(exc)}); "
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
                detour = f"nok serve ({info['url']}) не ответил ({reason(exc)}); "
    from nok_workflow import clock
    from nok_workflow.services.jobs.plan_run import run

    # The steps only: the quarter's report waits for the day's sweep (as it always has here).
    run(engine, settings, plan_id, now or clock.now(), allow_past, with_report=False)
    return detour + ("шаги плана выполнены здесь" if detour else "шаги плана выполнены сразу (nok serve не запущен)")


def _signed(settings: Settings) -> dict[str, str]:
    """The run token of this store: only `nok` commands that can read its key ask for runs."""
    from nok_workflow.tokens import run_token, secret

    return {"Authorization": f"Bearer {run_token(secret(settings.home))}"}


def failure_reason(exc: BaseException) -> str:
    """A failed plan run's reason as the person needs it: a user's mistake as its own message."""
    if isinstance(exc, InputError):
        return "; ".join(p.message for p in exc.problems)
    return reason(exc)


def why(state) -> str:  # noqa: ANN001 - a Prefect State
    """A failed flow run's reason, the same way: a user's mistake as its own message."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, InputError):
        return "; ".join(p.message for p in error.problems)
    return state.message or state.name


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
        raise ServeUnreachable(reason(exc)) from None
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


def reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def sweep(settings: Settings, engine: Callable[[], Engine], plans: list[str], now: dt.datetime,
          allow_past: bool) -> Iterator[dict[str, Any]]:
    """`nok sweep`, whichever way it goes, as one stream of events: {"plans": [...]} (with
    "through": the serve's URL when `nok serve` runs them), then {"plan", "ok", "why"} per
    plan, then {"dispatch": {...}} or {"problem": "..."}; {"note": "..."} when a way asked
    for did not answer and the plans ran here. Every plan is checked before any runs: an
    unknown one or a day in the past is refused (InputError) before the first event."""
    note = ""
    if not server_configured() and (info := serve_info(settings)) is not None:
        answer = sweep_through_serve(info, settings, plans, now, allow_past)
        try:
            first = next(answer)  # a refusal or no answer is raised here, before anything ran
        except ServeUnreachable as exc:
            note = f"nok serve ({info['url']}) не ответил ({exc}); планы выполнены здесь"
        else:
            yield {**first, "through": info["url"]}
            try:
                yield from answer
            except (ServeUnreachable, OSError, ValueError) as exc:
                # Started there: running the plans here too would only race it.
                raise InputError([Problem("nok serve", 0, 0, f"nok serve ({info['url']}) прервал ответ ({exc}); "
                                                             "запущенное им доработает там — проверьте nok status")]) from None
            return
    from nok_workflow.services.jobs.plan_run import targets

    store = engine()
    ids = targets(store, plans, now, allow_past)
    yield {"plans": ids}
    yield from (_sweep_with_prefect if server_configured() else _sweep_here)(store, settings, ids, now, allow_past)
    if note:
        yield {"note": note}


def _sweep_here(engine: Engine, settings: Settings, ids: list[str], now: dt.datetime,
                allow_past: bool) -> Iterator[dict[str, Any]]:
    """No server, no `nok serve`: the plan runs without Prefect. Prefect's ephemeral start
    alone (~10 s) would cost more than the work, and its run records would go to a local
    database nobody looks at; scheduled runs (`nok serve`, a deployment) are Prefect's."""
    from nok_workflow.services.delivery.dispatch import dispatch
    from nok_workflow.services.jobs.plan_run import run
    from notifiers import from_settings

    for plan_id in ids:
        try:
            run(engine, settings, plan_id, now, allow_past)
            yield {"plan": plan_id, "ok": True, "why": ""}
        except Exception as exc:  # noqa: BLE001 - the plan fails, the others still run, as in the flows
            yield {"plan": plan_id, "ok": False, "why": failure_reason(exc)}
    report = dispatch(engine, from_settings(settings), settings, now)
    if report.problem:
        yield {"problem": report.problem}
    else:
        yield {"dispatch": {"sent": report.sent, "retry": report.retry, "failed": report.failed,
                            "held": report.held_text}}


def _sweep_with_prefect(engine: Engine, settings: Settings, ids: list[str], now: dt.datetime,
                        allow_past: bool) -> Iterator[dict[str, Any]]:
    """A Prefect server is configured (scale-out): the flows run here and report to it."""
    # The progress bar is the report; Prefect's per-task lines would bury it.
    os.environ.update({k: v for k, v in {**OFFLINE_ENV, "PREFECT_LOGGING_LEVEL": "WARNING"}.items()
                       if k not in os.environ})
    from nok_workflow.runtime.flows import dispatch_flow, plan_flow

    moment = now.isoformat()
    for plan_id in ids:
        state = plan_flow(plan_id, now=moment, allow_past=allow_past, return_state=True)
        yield {"plan": plan_id, "ok": state.is_completed(), "why": "" if state.is_completed() else why(state)}
    state = dispatch_flow(now=moment, return_state=True)
    yield {"dispatch": state.result()} if state.is_completed() else {"problem": state.message}
