"""`nok deadline TEXT` — the deadline grammar alone."""

from __future__ import annotations

import re

import typer
from rich.table import Table

from nok_workflow import clock
from nok_workflow.cli.output import console, err_console, print_json
from nok_workflow.deadlines.context import AFTER_PERIOD_WORKING_DAYS

# The grammar (its rules compile at import) and babel (via nok_workflow.text) load in the
# command itself: every other command imports this module too.


def deadline(
    text: str = typer.Argument(..., help="Срок, как он написан в плане"),
    year: int | None = typer.Option(None, "--year", "-y", min=1900, max=2200,
                                    help="Год плана (по умолчанию — год из текста или текущий)"),
    after_period_days: int = typer.Option(
        AFTER_PERIOD_WORKING_DAYS, "--after-period-days", min=0, max=60,
        help="Рабочих дней после периода для «по итогам квартала» (в плане — after_period_working_days)"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
    now: str | None = typer.Option(None, "--now", help="Текущий момент (ГГГГ-ММ-ДД), также NOK_NOW"),
) -> None:
    """Показать, как понимается формулировка срока; ошибка в ней — код выхода 1."""
    from nok_workflow.deadlines.grammar import PlanPeriod, interpret
    from nok_workflow.text import KIND_LABELS, date_short

    if year is None:
        year = _year_in(text) or clock.now(now).year
    result = interpret(text, PlanPeriod.year(year), after_period_days=after_period_days)
    if json_out:
        data = result.as_json()
        data["year"] = year
        print_json(data)
        _exit_on_errors(result.errors)
        return
    console.print(f"Срок: «{text}» (план на {year} год)")
    console.print(f"Вид: {result.kind} — {KIND_LABELS[result.kind]}")
    if result.occurrences:
        table = Table("Период", "Открыт с", "Срок")
        for o in result.occurrences:
            table.add_row(o.period, date_short(o.opens), date_short(o.due))
        console.print(table)
    if result.relative:
        r = result.relative
        console.print(f"Сдвиг: {r.amount} ({r.unit}) от события «{r.event or '—'}»")
    for note in result.notes:
        console.print(f"Правило: {note}")
    for w in result.warnings:
        console.print(f"[yellow]предупреждение:[/] {w}")
    for e in result.errors:
        err_console.print(f"ошибка: {e}", markup=False)
    _exit_on_errors(result.errors)


def _exit_on_errors(errors: tuple[str, ...]) -> None:
    # A wording a plan would be refused for is refused here too.
    if errors:
        raise typer.Exit(1)


def _year_in(text: str) -> int | None:
    from nok_workflow.deadlines.grammar import normalise

    m = re.search(r"(?<!\d)((?:19|20|21)\d\d)(?!\d)", normalise(text))
    return int(m.group(1)) if m else None
