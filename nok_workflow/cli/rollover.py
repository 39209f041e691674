"""`nok plan rollover` — the same plan for another year (thin: the work is in plan/rollover.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nok_workflow.cli.output import console, err_console

if TYPE_CHECKING:  # the plan modules load in the command: every `nok` command imports this one
    from nok_workflow.plan.rollover import RolloverResult


def rollover(
    plan: Path = typer.Argument(..., help="YAML-файл плана"),
    to_year: int = typer.Option(..., "--to-year", help="Год нового плана"),
    output: Path = typer.Option(..., "-o", "--output", help="Куда записать новый план"),
    force: bool = typer.Option(False, "--force", help="Перезаписать существующий файл"),
) -> None:
    """Тот же план на другой год: годы в сроках сдвигаются, формулировки с годом — на проверку."""
    from nok_workflow.files import write_atomically
    from nok_workflow.plan import source
    from nok_workflow.plan.rollover import rollover_text

    result = rollover_text(source.read_text(plan), str(plan), to_year, new_file=str(output))
    write_atomically(output, result.new_text, force=force)
    print_report(result, output)


def print_report(result: RolloverResult, output: Path) -> None:
    from nok_workflow.text import date_short, plural

    # markup=False: wordings and titles may contain «[…]», which Rich would take for markup.
    sign = "+" if result.delta > 0 else "-"
    shift = f"{sign}{plural(abs(result.delta), 'год', 'года', 'лет')}"
    console.print(f"План {result.old_id} → {result.new_id} (сдвиг {shift})", markup=False)
    period = result.new_plan.plan.period
    console.print(f"Период: {date_short(period.start)} – {date_short(period.end)}", markup=False)
    console.print(f"[green]✓[/] записано: {output}")
    if result.changes:
        console.print("Проверьте сроки и тексты пунктов с явным годом:")
        for change in result.changes:
            console.print(f"  {change.key}: «{change.old}» → «{change.new}»", markup=False)
    else:
        console.print("Сроков и текстов с явным годом нет: сроки без года берут год нового плана.")
    for note in result.notes:
        console.print(f"Примечание: {note}", markup=False)
    for warning in result.warnings:
        err_console.print(str(warning), markup=False)
