"""`nok link revoke`: a party's personal upload link stops working; the next digest carries a new one."""

from __future__ import annotations

import typer

from nok_workflow.cli import context
from nok_workflow.cli.output import console

app = typer.Typer(help="Личные ссылки исполнителей для загрузки документов.", no_args_is_help=True)


@app.command("revoke")
def revoke(
    plan: str = typer.Option(..., "--plan", help="id плана"),
    party: str = typer.Option(..., "--party", help="id исполнителя или организации из справочника плана"),
    by: str | None = typer.Option(None, "--by", help="Кто отзывает (id; по умолчанию координатор плана)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Отозвать личную ссылку (например, письмо переслали не тому): старая перестанет действовать."""
    from nok_workflow.services.commands.links import revoke as revoke_link

    engine = context.engine()
    if by is None:
        by = context.plan_coordinator(engine, plan) or "nok"  # an unknown plan: the service says so
    revision = revoke_link(engine, plan_id=plan, party_id=party, by=by, now=context.now(now))
    console.print(f"Ссылка «{party}» в плане «{plan}» отозвана (редакция {revision}): прежняя ссылка больше "
                  "не действует, новая придёт в следующем письме-сводке.", markup=False)
