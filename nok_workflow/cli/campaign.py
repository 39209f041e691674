"""`nok campaign create|list|show|add-plan`: assessment campaigns — the plans of many organisations
under one coordinator (the browser's «Кампании оценки» is the main way; these are for scripts)."""

from __future__ import annotations

import typer

from nok_workflow.cli import context
from nok_workflow.cli.output import console
from nok_workflow.problems import InputError, Problem

app = typer.Typer(help="Кампании оценки: планы многих организаций у одного координатора.", no_args_is_help=True)


def _owner(engine, campaign_id: str) -> str:  # noqa: ANN001 - an Engine
    from nok_workflow.services.read.campaigns import owner_of

    owner = owner_of(engine, campaign_id)
    if owner is None:
        raise InputError([Problem(campaign_id, 0, 0, f"кампании «{campaign_id}» нет")])
    return owner


@app.command("create")
def create(
    title: str = typer.Argument(..., help="Название, например «НОК 2024»"),
    year: str = typer.Option(..., "--year", help="Год оценки"),
    owner: str = typer.Option(..., "--owner", help="Логин координатора кампании"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Создать кампанию; её id составляется из названия латиницей."""
    from nok_workflow.services.commands import campaigns

    campaign_id = campaigns.create(context.engine(), owner=owner, title=title, year=year, now=context.now(now))
    console.print(f"Кампания «{' '.join(title.split())}» создана: id {campaign_id}.", markup=False)


@app.command("list")
def list_campaigns(owner: str = typer.Option(..., "--owner", help="Логин координатора")) -> None:
    """Кампании координатора."""
    from nok_workflow.services.read.campaigns import campaigns

    found = campaigns(context.engine(), owner)
    if not found:
        console.print(f"У координатора «{owner}» кампаний нет.", markup=False)
    for c in found:
        console.print(f"{c.id} · {c.year} · {c.title} · планов: {c.plans}", markup=False)


@app.command("show")
def show(campaign_id: str = typer.Argument(..., help="id кампании"), now: str | None = context.NOW_OPTION) -> None:
    """Ход кампании по организациям: выполнено, просрочено, открыто, последний отчёт."""
    from nok_workflow.services.read.campaigns import dashboard

    engine = context.engine()
    d = dashboard(engine, campaign_id, _owner(engine, campaign_id), context.now(now))
    console.print(f"{d.title} ({d.year}): организаций {len(d.rows)}, выполнено {d.totals.done} из "
                  f"{d.totals.total}, просрочено {d.totals.late}", markup=False)
    for r in d.rows:
        report = f"{r.last_report}, {r.last_report_on:%d.%m.%Y}" if r.last_report_on else "отчётов не было"
        missing = f"; нет отчёта за {d.last_quarter}" if r.report_missing else ""
        console.print(f"  {r.organisation} [{r.plan_id}]: выполнено {r.counts.done} из {r.counts.total}, "
                      f"просрочено {r.counts.late}, открыто {r.open}; {report}{missing}", markup=False)
    if d.drafts:
        console.print(f"Черновиков ждут проверки: {len(d.drafts)}", markup=False)


@app.command("add-plan")
def add_plan(
    campaign_id: str = typer.Argument(..., help="id кампании"),
    plan_id: str = typer.Argument(..., help="id загруженного плана"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Включить загруженный план в кампанию (один план на организацию и год)."""
    from nok_workflow.services.commands import campaigns

    engine = context.engine()
    campaigns.attach(engine, campaign_id, owner=_owner(engine, campaign_id), plan_id=plan_id, now=context.now(now))
    console.print(f"План «{plan_id}» включён в кампанию «{campaign_id}».", markup=False)
