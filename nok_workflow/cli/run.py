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
    from nok_workflow.serve import OFFLINE_ENV
    from nok_workflow.serve import serve as run_serve

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
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
    from nok_workflow.serve import OFFLINE_ENV

    # The progress bar is the report; Prefect's per-task lines would bury it.
    os.environ.update({k: v for k, v in {**OFFLINE_ENV, "PREFECT_LOGGING_LEVEL": "WARNING"}.items()
                       if k not in os.environ})
    from flows.plan_flow import plan_flow
    from nok_workflow.services.catalog import plans_overview

    from nok_workflow.services.catalog import require
    from nok_workflow.services.sweep import check_run_day

    when = context.now(now)
    moment = when.isoformat()
    engine = context.engine()
    require(engine, plans=plan or [])
    ids = plan or [p["id"] for p in plans_overview(engine)]
    for plan_id in ids:  # a day before a plan's last run: refused before Prefect starts
        check_run_day(engine, plan_id, when, allow_past)
    failed = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("планы", total=len(ids))
        for plan_id in ids:
            progress.update(bar, description=f"план {plan_id}")
            state = plan_flow(plan_id, now=moment, allow_past=allow_past, return_state=True)
            if not state.is_completed():
                failed.append(f"{plan_id}: {_why(state)}")
            progress.advance(bar)
    for line in failed:
        err_console.print(f"ошибка: {line}", markup=False)
    console.print(f"выполнено планов: {len(ids) - len(failed)} из {len(ids)}")
    from flows.dispatch_flow import dispatch_flow

    state = dispatch_flow(now=moment, return_state=True)
    if state.is_completed():
        sent = state.result()
        console.print(f"писем отправлено: {sent['sent']}, отложено: {sent['retry']}, "
                      f"не доставлено: {sent['failed']}" + (f"; {sent['held']}" if sent["held"] else ""))
    else:
        err_console.print(f"рассылка: {state.message}", markup=False)
    if failed or not state.is_completed():
        raise typer.Exit(1)


def _why(state) -> str:  # noqa: ANN001 - a Prefect State
    """A failed run's reason as the person needs it: a user's mistake as its own message."""
    error = state.result(raise_on_failure=False)
    if isinstance(error, InputError):
        return "; ".join(p.message for p in error.problems)
    return state.message or state.name


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
