"""Where a plan's flow runs: a Prefect server (scale-out), the local `nok serve`, or here.

Prefect is imported only on the paths that need it (its import costs ~2 s).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import Engine

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EVIDENCE_EVENT = "nok.evidence.submitted"


def server_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def plan_resource(plan_id: str) -> str:
    return f"nok.plan.{plan_id}"


def deploy_plan(plan_id: str, hour: int, timezone: str, settings: Settings | None = None) -> str:
    """A deployment of the plan flow for this plan: daily at its local hour, and at once on
    each evidence event of the plan. Needs a Prefect server (PREFECT_API_URL)."""
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.schedules import Cron

    from flows.plan_flow import plan_flow

    settings = settings or Settings()
    try:
        source = plan_flow.from_source(source=str(PROJECT_ROOT), entrypoint="flows/plan_flow.py:plan_flow")
        deployment_id = source.deploy(
            name=plan_id,
            work_pool_name=settings.work_pool,
            parameters={"plan_id": plan_id},
            schedules=[Cron(f"0 {hour} * * *", timezone=timezone)],
            triggers=[DeploymentEventTrigger(
                name=f"{plan_id}: документ загружен",
                expect={EVIDENCE_EVENT},
                match={"prefect.resource.id": plan_resource(plan_id)},
            )],
            job_variables={"env": {k: v for k, v in os.environ.items() if k.startswith("NOK_")}},
            build=False, push=False, print_next_steps=False,
        )
    except Exception as exc:  # noqa: BLE001 - Prefect reports a missing pool or server many ways
        raise InputError([Problem("PREFECT_API_URL", 0, 0,
                                  f"не удалось зарегистрировать развёртывание плана «{plan_id}»: {exc}. "
                                  f"Пул рабочих создаётся так: prefect work-pool create {settings.work_pool} "
                                  "--type process")]) from None
    return str(deployment_id)


def serve_info(settings: Settings) -> dict | None:
    """The running `nok serve` of this store, if any (it writes NOK_HOME/serve.json)."""
    path = settings.home / "serve.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return info


def trigger_plan(engine: Engine, plan_id: str, settings: Settings, now=None) -> str:  # noqa: ANN001
    """Run the plan's flow at once after new evidence; returns how, in Russian, for the CLI."""
    if server_configured():
        from prefect.events import emit_event

        emit_event(event=EVIDENCE_EVENT, resource={"prefect.resource.id": plan_resource(plan_id)})
        return "событие отправлено серверу Prefect: поток плана запустится по триггеру"
    info = serve_info(settings)
    if info is not None:
        request = urllib.request.Request(f"{info['url']}/api/plans/{plan_id}/run", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return f"поток плана запущен в nok serve ({info['url']})"
        except (urllib.error.URLError, TimeoutError):
            pass  # the server is going away: run here instead
    from nok_workflow import clock
    from nok_workflow.services.sweep import sweep_plan

    sweep_plan(engine, plan_id, now or clock.now())
    return "шаги плана выполнены сразу (nok serve не запущен)"
