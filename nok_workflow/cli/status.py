"""`nok status`, `nok audit`, `nok db upgrade`."""

from __future__ import annotations

import typer
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, print_json

_COLOURS = {"overdue": "red", "escalated": "bold red", "due_soon": "yellow", "done": "green",
            "done_late": "green", "cancelled": "dim", "waived": "dim", "upcoming": "dim"}


def status(
    plan: str | None = typer.Option(None, "--plan"),
    owner: str | None = typer.Option(None, "--owner", help="id исполнителя или организации"),
    org: str | None = typer.Option(None, "--org", help="id организации"),
    open_only: bool = typer.Option(False, "--open", help="Только невыполненные"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Обязательства и их состояние на сегодня (или на --now)."""
    from nok_workflow.services.read.catalog import require
    from nok_workflow.services.read.obligations import list_obligations
    from nok_workflow.status import LABELS  # not at the top: every `nok` command imports this module
    from nok_workflow.text import plural

    moment = context.now(now)
    require(context.engine(), plans=[plan] if plan else [], parties=[p for p in (owner, org) if p], plan_id=plan)
    rows = list_obligations(context.engine(), now=moment, plan_id=plan, owner=owner, org=org,
                            include_closed=not open_only)
    if json_out:
        print_json(rows)
        return
    table = Table("План", "Пункт", "Период", "Организация", "Ответственные", "Срок", "Состояние", "Дней",
                  "Док.")
    for r in rows:
        label = LABELS[r["status"]] + (f" ({r['level']})" if r["level"] else "")
        colour = _COLOURS.get(r["status"], "")
        days = "" if r["days"] is None or r["status"] in ("done", "done_late") else (
            f"{r['days']}" if r["days"] >= 0 else f"−{-r['days']}")
        table.add_row(r["plan"], r["item"], r["period"], r["org_name"] or "", ", ".join(r["owners"]),
                      r["due"] or "—", f"[{colour}]{label}[/]" if colour else label, days, str(r["evidence"]))
    console.print(table)
    console.print(plural(len(rows), "обязательство", "обязательства", "обязательств"))
    from nok_workflow.services.read.health import problems, run_problems
    from nok_workflow.services.delivery.outbox import undeliverable

    for problem in problems(context.engine()):
        console.print(f"{problem.message} (с {problem.since:%Y-%m-%d %H:%M} UTC)", style="red", markup=False)
    from nok_workflow.services.read.chat_health import channel_lines

    settings = context.settings()
    tokens = {"telegram": settings.telegram_token is not None, "max": settings.max_token is not None}
    shown = {p.message for p in problems(context.engine())}
    for bad, line in channel_lines(context.engine(), tokens):
        if line.split(" (с ")[0] not in shown:  # a silent API is among the problems above already
            console.print(line, style="red" if bad else None, markup=False)
    for plan_id, problem, since in run_problems(context.engine(), plan):
        console.print(f"План {plan_id}: {problem} (с {since:%Y-%m-%d %H:%M} UTC)", style="red", markup=False)
    failed = undeliverable(context.engine())
    if failed:
        console.print(f"[red]Не доставлено сообщений: {len(failed)}[/] (подробно: nok outbox list --status failed)")
        for row in failed[:10]:
            console.print(f"  {row['plan']} {row['item'] or ''} → {row['recipient']}: {row['error']}", markup=False)


def audit(
    plan: str | None = typer.Option(None, "--plan"),
    since: str | None = typer.Option(None, "--since", help="С какого момента (ГГГГ-ММ-ДД)"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
) -> None:
    """Журнал: загрузки, правки, документы, проверки, снятия."""
    from nok_workflow import clock
    from nok_workflow.services.commands.audit import audit_line, events

    rows = events(context.engine(), plan_id=plan, since=clock.parse_now(since, "--since") if since else None)
    data = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "plan": e.plan_id,
             "details": e.details} for e in rows]
    if json_out:
        print_json(data)
        return
    for e in data:
        console.print(audit_line(e), markup=False)


db_app = typer.Typer(help="База данных.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Создать базу PostgreSQL, если её нет, и применить миграции схемы (миграции
    выполняются и автоматически при первом обращении)."""
    from nok_workflow.store.db import create_database, current_revision, make_engine, upgrade

    config = context.settings()
    url = config.store_url()
    if create_database(url):
        console.print(f"создана база данных {url.rsplit('/', 1)[-1]}", markup=False)
    engine = make_engine(url)
    changed = upgrade(engine)
    console.print(f"схема: {current_revision(engine)}" + (" (обновлена)" if changed else " (актуальна)"))
