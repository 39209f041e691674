"""`nok serve`, `nok sweep`, `nok plan deploy` — running the plans' flows."""

from __future__ import annotations

import os

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from nok_workflow.cli import context
from nok_workflow.cli.output import console, err_console
from nok_workflow.problems import InputError, Problem


def serve(
    host: str | None = typer.Option(None, "--host", help="Адрес (по умолчанию 127.0.0.1, NOK_SERVE_HOST)"),
    port: int | None = typer.Option(None, "--port", help="Порт (по умолчанию 8470, NOK_SERVE_PORT)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Всё в одном процессе: веб-страница состояния и запуск потоков планов по расписанию."""
    from nok_workflow.orchestration import OFFLINE_ENV

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    from nok_workflow.serve import serve as run_serve

    settings = context.settings()
    if now:
        context.now(now)  # a bad --now fails here, before anything starts
    run_serve(settings, context.engine(), host=host or settings.serve_host, port=port or settings.serve_port,
              now=now, announce=lambda text: console.print(text, markup=False))


def sweep(
    plan: list[str] = typer.Option(None, "--plan", help="Только эти планы (по умолчанию все)"),
    now: str | None = context.NOW_OPTION,
    allow_past: bool = typer.Option(False, "--allow-past",
                                    help="Выполнить, даже если план уже выполнялся за более поздний день"),
) -> None:
    """Выполнить поток каждого загруженного плана один раз — то, что делает расписание."""
    from nok_workflow import orchestration

    settings = context.settings()
    when = context.now(now)
    note = ""
    if not orchestration.server_configured() and (info := orchestration.serve_info(settings)) is not None:
        try:
            _sweep_through_serve(info, settings, plan or [], when, allow_past)
            return
        except orchestration.ServeUnreachable as exc:
            note = f"nok serve ({info['url']}) не ответил ({exc}); планы выполнены здесь"
    engine = context.engine()
    # Every plan is checked before any runs: an unknown one or a day in the past is refused.
    ids = orchestration.sweep_targets(engine, plan or [], when, allow_past)
    if orchestration.server_configured():
        failed, dispatched = _sweep_with_prefect(ids, when, allow_past)
    else:
        failed, dispatched = _sweep_here(engine, settings, ids, when, allow_past)
    if note:
        console.print(note, markup=False)
    _finish(len(ids), failed, dispatched)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def _finish(total: int, failed: list[str], dispatched: dict | str) -> None:
    """What every way of sweeping says at the end; exit 1 if a plan or the dispatch failed."""
    for line in failed:
        err_console.print(f"ошибка: {line}", markup=False)
    console.print(f"выполнено планов: {total - len(failed)} из {total}")
    if isinstance(dispatched, dict):
        console.print(f"писем отправлено: {dispatched['sent']}, отложено: {dispatched['retry']}, "
                      f"не доставлено: {dispatched['failed']}"
                      + (f"; {dispatched['held']}" if dispatched["held"] else ""))
    else:
        err_console.print(f"рассылка: {dispatched}", markup=False)
    if failed or not isinstance(dispatched, dict):
        raise typer.Exit(1)


def _sweep_here(engine, settings, ids: list[str], when, allow_past: bool) -> tuple[list[str], dict | str]:  # noqa: ANN001
    """No server, no `nok serve`: the plan flow's work as direct service calls. Prefect's
    ephemeral start alone (~10 s) would cost more than the work, and its run records would
    go to a local database nobody looks at; scheduled runs (`nok serve`, a deployment) are
    Prefect's."""
    from nok_workflow.orchestration import failure_reason, run_here
    from nok_workflow.services.dispatch import dispatch
    from notifiers import from_settings

    failed = []
    with _progress() as progress:
        bar = progress.add_task("планы", total=len(ids))
        for plan_id in ids:
            progress.update(bar, description=f"план {plan_id}")
            try:
                run_here(engine, settings, plan_id, when, allow_past)
            except Exception as exc:  # noqa: BLE001 - the plan fails, the others still run, as in the flows
                failed.append(f"{plan_id}: {failure_reason(exc)}")
            progress.advance(bar)
    report = dispatch(engine, from_settings(settings), settings, when)
    if report.problem:
        return failed, report.problem
    return failed, {"sent": report.sent, "retry": report.retry, "failed": report.failed, "held": report.held_text}


def _sweep_with_prefect(ids: list[str], when, allow_past: bool) -> tuple[list[str], dict | str]:  # noqa: ANN001
    """A Prefect server is configured (scale-out): the flows run here and report to it."""
    from nok_workflow.orchestration import OFFLINE_ENV

    # The progress bar is the report; Prefect's per-task lines would bury it.
    os.environ.update({k: v for k, v in {**OFFLINE_ENV, "PREFECT_LOGGING_LEVEL": "WARNING"}.items()
                       if k not in os.environ})
    from flows.dispatch_flow import dispatch_flow
    from flows.plan_flow import plan_flow
    from nok_workflow.serve import _why

    moment = when.isoformat()
    failed = []
    with _progress() as progress:
        bar = progress.add_task("планы", total=len(ids))
        for plan_id in ids:
            progress.update(bar, description=f"план {plan_id}")
            state = plan_flow(plan_id, now=moment, allow_past=allow_past, return_state=True)
            if not state.is_completed():
                failed.append(f"{plan_id}: {_why(state)}")
            progress.advance(bar)
    state = dispatch_flow(now=moment, return_state=True)
    return failed, state.result() if state.is_completed() else state.message


def _sweep_through_serve(info: dict, settings, plans: list[str], when, allow_past: bool) -> None:  # noqa: ANN001
    """`nok serve` runs the plans with its warm flows; this process only shows the answer."""
    from nok_workflow.orchestration import ServeUnreachable, sweep_through_serve

    answer = sweep_through_serve(info, settings, plans, when, allow_past)
    ids = next(answer)["plans"]  # a refusal or no answer is raised here, before anything ran
    console.print(f"планы выполняет nok serve ({info['url']})", markup=False)
    failed: list[str] = []
    dispatched: dict | str = "nok serve не сообщил итог рассылки"
    try:
        with _progress() as progress:
            bar = progress.add_task("планы", total=len(ids))
            for event in answer:
                if "plan" in event:
                    if not event["ok"]:
                        failed.append(f"{event['plan']}: {event['why']}")
                    progress.advance(bar)
                    progress.update(bar, description=f"план {event['plan']}")
                elif "dispatch" in event:
                    dispatched = event["dispatch"]
                elif "problem" in event:
                    dispatched = event["problem"]
    except (ServeUnreachable, OSError, ValueError) as exc:
        # Started there: running the plans here too would only race it.
        raise InputError([Problem("nok serve", 0, 0, f"nok serve ({info['url']}) прервал ответ ({exc}); "
                                                     "запущенное им доработает там — проверьте nok status")]) from None
    _finish(len(ids), failed, dispatched)


def deploy(plan_id: str = typer.Argument(..., help="id загруженного плана")) -> None:
    """Зарегистрировать развёртывание плана на сервере Prefect (ежедневно в местный час плана)."""
    from nok_workflow.orchestration import deploy_plan, server_configured
    from nok_workflow.services.deployments import plan_schedule

    if not server_configured():
        raise InputError([Problem("PREFECT_API_URL", 0, 0, "сервер Prefect не настроен: задайте PREFECT_API_URL "
                                                          "(во встроенном режиме расписание ведёт nok serve)")])
    hour, timezone = plan_schedule(context.engine(), plan_id)
    deployment = deploy_plan(plan_id, hour, timezone, context.settings())
    console.print(f"развёртывание nok-plan/{plan_id}: ежедневно в {hour}:00 ({timezone}); id {deployment}")


def prefect_server(
    host: str = typer.Option("127.0.0.1", "--host", help="Адрес сервера Prefect"),
    port: int = typer.Option(4200, "--port", help="Порт сервера Prefect"),
    database: str = typer.Option("nok_prefect", "--database", help="База PostgreSQL для сервера Prefect"),
    postgres: str = typer.Option("postgresql+psycopg://postgres@127.0.0.1:5432", "--postgres",
                                 envvar="NOK_PREFECT_POSTGRES", help="Сервер PostgreSQL (URL без имени базы)"),
) -> None:
    """Сервер Prefect на PostgreSQL (масштабирование): создаёт базу и расширение pg_trgm,
    выключает телеметрию и запускает `prefect server start` в этом терминале."""
    import sys
    from pathlib import Path

    from sqlalchemy import create_engine, text

    from nok_workflow.store.db import create_database

    url = f"{postgres.rstrip('/')}/{database}"
    if create_database(url):
        console.print(f"создана база данных {database}", markup=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))  # Prefect's server needs it
    engine.dispose()
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{url.split('://', 1)[1]}"}
    # The `prefect` of this same environment, whatever PATH says.
    prefect = str(Path(sys.executable).with_name("prefect"))
    console.print(f"сервер Prefect: http://{host}:{port} (Ctrl-C — остановить)", markup=False)
    os.execve(prefect, [prefect, "server", "start", "--host", host, "--port", str(port)], env)
