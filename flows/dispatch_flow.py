"""The dispatch flow: today's digests out through the configured notifier."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from flows.engine import store_engine
from nok_workflow import clock
from nok_workflow.services.dispatch import dispatch
from nok_workflow.settings import Settings
from notifiers import from_settings


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
