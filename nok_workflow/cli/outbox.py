"""`nok outbox list | show | retry | dispatch` — the messages and their delivery."""

from __future__ import annotations

import typer
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.problems import InputError, Problem
from nok_workflow.cli.output import MAIL_STATES, MESSAGE_KINDS, ROW_STATES, console, err_console, print_json
from nok_workflow.text import CHANNEL_NAMES

CHANNELS = CHANNEL_NAMES
app = typer.Typer(help="Письма: очередь, доставка, повтор.", no_args_is_help=True)


@app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help="pending (ждёт) | sending | retry (повтор) | "
                                                          "sent (отправлено) | failed (не доставлено)"),
    limit: int = typer.Option(100, "--limit", min=1, help="Писем на странице"),
    page: int = typer.Option(1, "--page", min=1, help="Номер страницы"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
) -> None:
    """Письма (сводки за день) и их состояние, по страницам."""
    from nok_workflow.services.read.health import problems
    from nok_workflow.services.delivery.outbox import list_mail

    if status is not None and status not in MAIL_STATES:
        raise InputError([Problem("--status", 0, 0, f"состояния «{status}» нет; бывают: "
                                                    + ", ".join(f"{k} ({v})" for k, v in MAIL_STATES.items()))])
    engine = context.engine()
    rows, total = list_mail(engine, status, limit=limit, offset=(page - 1) * limit)
    for problem in problems(engine):
        err_console.print(f"{problem.message} (с {problem.since:%Y-%m-%d %H:%M} UTC)", markup=False)
    if json_out:
        print_json(rows)
    else:
        table = Table("№", "Канал", "Кому", "День", "Пунктов", "Состояние", "Попыток", "Ответ сервера / ошибка")
        for r in rows:
            table.add_row(str(r["id"]), CHANNELS.get(r["channel"], r["channel"]), r["address"], r["day"], str(r["items"]), MAIL_STATES[r["status"]],
                          str(r["attempts"]),
                          r["error"] or r["response"] or "")
        console.print(table)
    first = (page - 1) * limit
    if first + len(rows) < total or page > 1:
        shown = f"{first + 1}–{first + len(rows)}" if rows else "ни одного"
        more = f"; следующая страница: --page {page + 1}" if first + len(rows) < total else ""
        # To stderr with --json, so the JSON stays whole for other programs.
        (err_console if json_out else console).print(f"показаны {shown} из {total}{more}", markup=False)


@app.command("show")
def show(mail_id: int = typer.Argument(..., help="№ письма"),
         json_out: bool = typer.Option(False, "--json", help="Вывести JSON")) -> None:
    """Письмо: адрес, тема, строки очереди, ответ сервера."""
    from nok_workflow.services.delivery.outbox import show as show_mail

    data = show_mail(context.engine(), mail_id)
    if json_out:
        print_json(data)
        return
    console.print(f"Письмо №{data['id']} → {data['name']} <{data['address']}>, {data['day']}: "
                  f"{MAIL_STATES[data['status']]}",
                  markup=False)
    console.print(f"Тема: {data['subject'] or '—'}", markup=False)
    console.print(f"Ответ: {data['response'] or data['error'] or '—'}", markup=False)
    for row in data["rows"]:
        step = {"reminder": f" за {row['step']} дн. до срока", "escalation": f", уровень {row['step']}"}
        console.print(f"  {MESSAGE_KINDS.get(row['kind'], row['kind'])}{step.get(row['kind'], '')}, "
                      f"план {row['plan']}, пункт {row['item'] or '—'} → {row['recipient']}: "
                      f"{ROW_STATES[row['status']]}", markup=False)


@app.command("retry")
def retry(mail_id: int | None = typer.Argument(None, help="№ письма (по умолчанию все неотправленные)"),
          now: str | None = context.NOW_OPTION) -> None:
    """Поставить неотправленные письма в очередь снова."""
    from nok_workflow.services.delivery.outbox import retry as retry_mail

    console.print(f"снова в очереди: {retry_mail(context.engine(), mail_id, context.now(now))}")


@app.command("dispatch")
def dispatch(now: str | None = context.NOW_OPTION) -> None:
    """Собрать сводки и отправить (SMTP из NOK_SMTP_*, иначе файлы .eml в NOK_HOME/outbox)."""
    from nok_workflow.services.delivery.dispatch import dispatch as run_dispatch
    from notifiers import from_settings

    settings = context.settings()
    report = run_dispatch(context.engine(), from_settings(settings), settings, context.now(now))
    console.print(f"писем отправлено: {report.sent}, отложено для повтора: {report.retry}, "
                  f"не доставлено: {report.failed}" + (f"; {report.held_text}" if report.held else ""))
    for line in report.errors:
        console.print(f"  {line}", markup=False)
    if report.problem:
        err_console.print(report.problem, markup=False)
        raise typer.Exit(1)
