"""`nok feed create | list | revoke` — calendar subscriptions; `nok ical` — a one-off .ics file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, err_console, print_json, utc_moment

app = typer.Typer(help="Подписки на календарь сроков (iCalendar): для телефона, Outlook, Яндекс и Google Календаря.",
                  no_args_is_help=True)

PLAN = typer.Option(None, "--plan", help="id плана (без --owner/--org — весь план)")
OWNER = typer.Option(None, "--owner", help="id сотрудника или подразделения из справочника")
ORG = typer.Option(None, "--org", help="id организации из справочника")


@app.command("create")
def create(
    plan: str | None = PLAN,
    owner: str | None = OWNER,
    org: str | None = ORG,
    name: str = typer.Option("календарь", "--name", help="Где откроют подписку, напр. «телефон»"),
    by: str | None = typer.Option(None, "--by", help="Кто выдаёт (для журнала; по умолчанию координатор плана)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Выдать адрес подписки; он показывается один раз.

    Без --plan подписка исполнителя (--owner) или организации (--org) охватывает все планы, где они есть.
    """
    from nok_workflow.services.commands import feeds

    engine, settings = context.engine(), context.settings()
    row, token = feeds.create(engine, name=name, plan_id=plan, owner=owner, org=org,
                              by=by or context.plan_coordinator(engine, plan) or "cli", now=context.now(now))
    console.print(f"Подписка №{row.id} «{row.name}» ({_scope(row.plan_id, row.party_id)}):", markup=False)
    print(feeds.feed_url(settings.base_url, token))  # plain: a program may read it from the output
    err_console.print("Сохраните адрес сейчас: он больше не будет показан (в хранилище — только хеш). "
                      "В календаре: «Добавить календарь → По адресу (URL)». Отозвать: nok feed revoke "
                      f"{row.id}.", markup=False)


def _scope(plan: str | None, party: str | None) -> str:
    if party is None:
        return f"весь план «{plan}»"
    return f"«{party}» в плане «{plan}»" if plan else f"«{party}» во всех планах"


@app.command("list")
def list_feeds(
    plan: str | None = typer.Option(None, "--plan", help="Только подписки этого плана"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
) -> None:
    """Выданные подписки (сами адреса не хранятся и не показываются)."""
    from nok_workflow.services.commands import feeds

    rows = [{"id": f.id, "name": f.name, "plan": f.plan_id, "party": f.party_id, "by": f.created_by,
             "created": f.created_at.isoformat(), "revoked": f.revoked_at.isoformat() if f.revoked_at else None}
            for f in feeds.listed(context.engine(), plan)]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("Подписок нет. Выдать: nok feed create --plan <план> | --owner <кто> | --org <организация> "
                      "--name <где>", markup=False)
        return
    table = Table("№", "Имя", "Что в календаре", "Выдал", "Выдана", "Отозвана")
    for r in rows:
        table.add_row(str(r["id"]), escape(r["name"]), escape(_scope(r["plan"], r["party"])), escape(r["by"]),
                      utc_moment(r["created"]), utc_moment(r["revoked"]) if r["revoked"] else "—")
    console.print(table)



@app.command("revoke")
def revoke(
    feed_id: int = typer.Argument(..., help="№ подписки (nok feed list)"),
    by: str | None = typer.Option(None, "--by", help="Кто отзывает (для журнала; по умолчанию координатор плана)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Отозвать подписку: её адрес сразу перестаёт открываться."""
    from nok_workflow.services.commands import feeds

    engine = context.engine()
    if by is None:
        row = next((f for f in feeds.listed(engine) if f.id == feed_id), None)
        by = (context.plan_coordinator(engine, row.plan_id) if row else None) or "cli"
    row = feeds.revoke(engine, feed_id, by=by, now=context.now(now))
    console.print(f"Подписка №{feed_id} «{row.name}» отозвана: календари по её адресу больше не обновятся.",
                  markup=False)


def ical(
    plan: str = typer.Option(..., "--plan", help="id плана"),
    owner: str | None = OWNER,
    org: str | None = ORG,
    output: Path = typer.Option(..., "--output", "-o", help="Куда записать .ics"),
    force: bool = typer.Option(False, "--force", help="Перезаписать существующий файл"),
) -> None:
    """Записать календарь сроков плана (или исполнителя, организации в нём) в файл .ics."""
    from nok_workflow.files import write_atomically
    from nok_workflow.services.read import calendar_feed
    from nok_workflow.services.commands import feeds
    from nok_workflow.tokens import secret

    engine, settings = context.engine(), context.settings()
    party = feeds.resolve_scope(engine, plan_id=plan, owner=owner, org=org)
    feed = calendar_feed.build(engine, calendar_feed.Scope(plan, party), base_url=settings.base_url,
                               key=secret(settings.home))
    write_atomically(output, feed.body, force=force)
    console.print(f"{output}: событий {feed.events} («{feed.name}»)", markup=False)
