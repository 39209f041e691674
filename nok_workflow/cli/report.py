"""`nok report` — a plan's progress report for a quarter (or the year to date) as a file."""

from __future__ import annotations

from pathlib import Path

import typer

from nok_workflow.cli import context
from nok_workflow.cli.output import console
from nok_workflow.problems import InputError, Problem


def report(
    plan: str = typer.Option(..., "--plan", help="id плана"),
    quarter: str = typer.Option(..., "--quarter", help="Квартал, напр. 2024Q4"),
    year_to_date: bool = typer.Option(False, "--year-to-date", help="Нарастающим итогом: с 1 января по конец квартала"),
    fmt: str | None = typer.Option(None, "--format", help="docx | xlsx | html | json (по умолчанию — по расширению файла)"),
    output: Path = typer.Option(..., "--output", "-o", help="Куда записать отчёт"),
    force: bool = typer.Option(False, "--force", help="Перезаписать существующий файл"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Отчёт о выполнении плана за квартал: Word, Excel, HTML или JSON.

    Статусы — на день --now (по умолчанию сегодня): срок прошёл без документа — «не выполнено», срок ещё
    не наступил — «в работе».
    """
    from nok_workflow.files import write_atomically
    from nok_workflow.reports.formats import FORMATS, render
    from nok_workflow.reports.model import parse_quarter, report_period
    from nok_workflow.services.read.report import build_report

    chosen = (fmt or output.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise InputError([Problem("--format", 0, 0, f"«{fmt or output.suffix or output.name}» — не формат отчёта; "
                                                    f"ожидается один из: {', '.join(FORMATS)}")])
    period = report_period(*parse_quarter(quarter), year_to_date)
    engine, settings = context.engine(), context.settings()
    built = build_report(engine, plan, period, now=context.now(now), base_url=settings.base_url)
    write_atomically(output, render(built, chosen), force=force)
    t = built.totals
    console.print(f"{output}: {period.label}, обязательств со сроком в периоде {t.total} — в срок {t.on_time}, "
                  f"с нарушением срока {t.late}, не выполнено {t.not_done}, в работе {t.in_progress}, "
                  f"отменено {t.cancelled}", markup=False)
