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
    from nok_workflow.runtime.orchestrate import OFFLINE_ENV

    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    from nok_workflow.runtime.serve import serve as run_serve

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
    from nok_workflow.runtime.orchestrate import sweep as run_sweep

    # Where the plans run is orchestrate's to decide; this only shows what comes back.
    events = run_sweep(context.settings(), context.engine, plan or [], context.now(now), allow_past)
    head = next(events)  # a refusal is raised here, before anything ran
    ids = head["plans"]
    if "through" in head:
        console.print(f"планы выполняет nok serve ({head['through']})", markup=False)
    failed: list[str] = []
    dispatched: dict | str = "nok serve не сообщил итог рассылки"
    notes: list[str] = []
    with _progress() as progress:
        bar = progress.add_task(f"план {ids[0]}" if ids else "планы", total=len(ids))
        done = 0
        for event in events:
            if "plan" in event:
                if not event["ok"]:
                    failed.append(f"{event['plan']}: {event['why']}")
                done += 1
                progress.update(bar, advance=1, description=f"план {ids[min(done, len(ids) - 1)]}")
            elif "dispatch" in event:
                dispatched = event["dispatch"]
            elif "problem" in event:
                dispatched = event["problem"]
            elif "note" in event:
                notes.append(event["note"])
    for note in notes:
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


def deploy(plan_id: str = typer.Argument(..., help="id загруженного плана")) -> None:
    """Зарегистрировать развёртывание плана на сервере Prefect (ежедневно в местный час плана)."""
    from nok_workflow.runtime.orchestrate import deploy_plan, server_configured
    from nok_workflow.services.read.catalog import plan_schedule

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
