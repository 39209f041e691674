"""`nok token create | list | revoke` — API tokens for other systems (see /docs of `nok serve`)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, err_console, print_json, utc_moment

app = typer.Typer(help="API-токены для других систем (сайт школы, анкетирование оператора).",
                  no_args_is_help=True)


@app.command("create")
def create(
    actor: str = typer.Option(..., "--as", help="От чьего имени действует токен: исполнитель плана (с --plan) "
                                                "или логин координатора (без --plan — во всех его планах)"),
    name: str = typer.Option(..., "--name", help="Кто пользуется токеном, напр. «сайт школы 12»"),
    plan: str | None = typer.Option(None, "--plan", help="План, в котором действует исполнитель"),
    by: str | None = typer.Option(None, "--by", help="Кто выдаёт (для журнала; по умолчанию координатор плана)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Выдать токен; он показывается один раз."""
    from nok_workflow.services.commands.accounts import create_api_token

    engine = context.engine()
    issuer = by or context.plan_coordinator(engine, plan) or actor
    token = create_api_token(engine, name=name, actor=actor, plan_id=plan, by=issuer, now=context.now(now))
    scope = f"исполнитель «{actor}» плана «{plan}»" if plan else f"координатор «{actor}», все его планы"
    console.print(f"Токен «{name.strip()}» ({scope}):", markup=False)
    print(token)  # plain: a program may read it from the output
    err_console.print("Сохраните токен сейчас: он больше не будет показан (в хранилище — только его хеш). "
                      "Передавайте его в заголовке Authorization: Bearer <токен>.", markup=False)


@app.command("list")
def list_tokens(json_out: bool = typer.Option(False, "--json", help="Вывести JSON")) -> None:
    """Выданные токены (сами токены не хранятся и не показываются)."""
    from nok_workflow.services.commands.accounts import api_tokens

    rows = [{"id": t.id, "name": t.name, "plan": t.plan_id, "as": t.actor, "created": t.created_at.isoformat(),
             "revoked": t.revoked_at.isoformat() if t.revoked_at else None} for t in api_tokens(context.engine())]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("Токенов нет. Выдать: nok token create --as <кто> [--plan <план>] --name <для чего>")
        return
    table = Table("№", "Имя", "План", "От имени", "Выдан", "Отозван")
    for r in rows:
        # Names are people's text: escaped, never taken as markup.
        table.add_row(str(r["id"]), escape(r["name"]), r["plan"] or "все планы координатора", escape(r["as"]),
                      utc_moment(r["created"]), utc_moment(r["revoked"]) if r["revoked"] else "—")
    console.print(table)



@app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., help="№ токена (nok token list)"),
    by: str | None = typer.Option(None, "--by", help="Кто отзывает (для журнала; по умолчанию координатор плана)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Отозвать токен: он сразу перестаёт действовать."""
    from nok_workflow.services.commands.accounts import api_tokens, revoke_api_token

    engine = context.engine()
    if by is None:
        row = next((t for t in api_tokens(engine) if t.id == token_id), None)
        by = (context.plan_coordinator(engine, row.plan_id) or row.actor) if row is not None else "cli"
    revoke_api_token(engine, token_id, by=by, now=context.now(now))
    console.print(f"токен №{token_id} отозван", markup=False)
