"""`nok plan load | list | history` — plans in the store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, err_console, print_json
from nok_workflow.text import plural


def load(
    file: Path = typer.Argument(..., help="YAML-файл плана"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Только показать изменения"),
    by: str | None = typer.Option(None, "--by", help="Кто загружает (id; по умолчанию координатор)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Загрузить план или его новую редакцию; повторная загрузка того же файла ничего не меняет."""
    from nok_workflow.services.commands.plans import load as load_plan
    from nok_workflow.services.commands.plans import read_plan_file

    moment = context.now(now)
    read = read_plan_file(file)  # a bad file is refused before the store is even opened (or created)
    result = load_plan(context.engine(), file, actor=by, now=moment, dry_run=dry_run, read=read)
    diff = result.diff
    for warning in result.loaded.warnings:
        err_console.print(str(warning), markup=False)
    if diff.empty:
        console.print(f"План «{diff.plan_id}» (версия {diff.base_version}) не изменился.")
        return
    title = "Новый план" if diff.new_plan else f"Изменения относительно версии {diff.base_version}"
    console.print(f"{title} «{diff.plan_id}»:", markup=False)
    _print_diff(diff)
    if not result.applied:
        console.print("(--dry-run: ничего не записано)")
        return
    console.print(f"[green]✓[/] загружено: версия {result.version}")
    from nok_workflow.runtime.orchestrate import server_configured

    if server_configured():
        from nok_workflow.cli.run import deploy

        deploy(diff.plan_id)


def _print_diff(diff) -> None:
    for line in diff.lines():
        console.print(f"  {line}", markup=False)


def list_plans(json_out: bool = typer.Option(False, "--json", help="Вывести JSON")) -> None:
    """Загруженные планы."""
    from nok_workflow.services.read.catalog import plans_overview

    rows = plans_overview(context.engine())
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("Планов нет. Загрузите: nok plan load plan_definitions/<план>.yaml")
        return
    table = Table("id", "Название", "Версия", "Пунктов", "Обязательств", "Загружен")
    for r in rows:
        table.add_row(r["id"], r["title"], str(r["version"]), str(r["items"]), str(r["obligations"]),
                      r["loaded_at"][:16])
    console.print(table)


def history(plan_id: str = typer.Argument(..., help="id плана"),
            json_out: bool = typer.Option(False, "--json", help="Вывести JSON")) -> None:
    """Версии плана: когда, кем, что изменилось."""
    from nok_workflow.services.read.catalog import plan_history

    rows = plan_history(context.engine(), plan_id)
    if json_out:
        print_json(rows)
        return
    for r in rows:
        s = r["summary"]
        parts = [f"+{len(s.get('added', []))} пунктов", f"-{len(s.get('removed', []))}",
                 f"изменено {len(s.get('changed', {}))}"]
        console.print(f"версия {r['version']}: {r['loaded_at'][:16]}, {r['loaded_by']}, {r['source_file']} — "
                      + ", ".join(parts), markup=False)
    console.print(plural(len(rows), "версия", "версии", "версий"))
