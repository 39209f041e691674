"""`nok report` — a plan's progress report for a quarter (or the year to date) as a file; for a
shortcomings plan, the report in the form № 457 (`--summary`: the general one); with
`--campaign`, the campaign's roll-up of its organisations' plans."""

from __future__ import annotations

from pathlib import Path

import typer

from nok_workflow.cli import context
from nok_workflow.cli.output import console
from nok_workflow.problems import InputError, Problem


def report(
    plan: str | None = typer.Option(None, "--plan", help="id плана"),
    quarter: str | None = typer.Option(None, "--quarter", help="Квартал, напр. 2024Q4 (для --plan)"),
    campaign: str | None = typer.Option(None, "--campaign", help="id кампании: сводка по планам её организаций"),
    year_to_date: bool = typer.Option(False, "--year-to-date", help="Нарастающим итогом: с 1 января по конец квартала"),
    summary: bool = typer.Option(False, "--summary",
                                 help="Для плана устранения недостатков — общий отчёт вместо отчёта по форме № 457"),
    fmt: str | None = typer.Option(None, "--format", help="docx | xlsx | html | json (по умолчанию — по расширению файла)"),
    output: Path = typer.Option(..., "--output", "-o", help="Куда записать отчёт"),
    force: bool = typer.Option(False, "--force", help="Перезаписать существующий файл"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Отчёт о выполнении плана за квартал или сводка кампании: Word, Excel, HTML или JSON.

    Статусы — на день --now (по умолчанию сегодня): срок прошёл без документа — «не выполнено», срок ещё
    не наступил — «в работе». Для плана устранения недостатков отчёт — по форме № 457 (недостатки,
    мероприятия, сроки, ответственные, реализованные меры и фактический срок); --summary — общий отчёт.
    """
    from nok_workflow.files import write_atomically
    from nok_workflow.reports.formats import FORMATS, render

    chosen = (fmt or output.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise InputError([Problem("--format", 0, 0, f"«{fmt or output.suffix or output.name}» — не формат отчёта; "
                                                    f"ожидается один из: {', '.join(FORMATS)}")])
    if (plan is None) == (campaign is None):
        raise InputError([Problem("--plan", 0, 0, "укажите либо --plan (с --quarter), либо --campaign")])
    engine, settings = context.engine(), context.settings()
    if campaign is not None:
        from nok_workflow.reports.rollup_files import render_rollup
        from nok_workflow.services.read.campaign_rollup import build_rollup

        rollup = build_rollup(engine, campaign, context.now(now))
        write_atomically(output, render_rollup(rollup, chosen), force=force)
        t = rollup.totals
        console.print(f"{output}: кампания «{rollup.title}», планов {len(rollup.organisations)}, мероприятий "
                      f"{t.total} — выполнено {t.done} (из них с нарушением срока {t.done_late}), просрочено "
                      f"{t.overdue}, в работе {t.open}", markup=False)
        return
    if quarter is None:
        raise InputError([Problem("--quarter", 0, 0, "для отчёта по плану укажите --quarter, напр. 2025Q1")])
    from nok_workflow.reports.model import parse_quarter, report_period
    from nok_workflow.services.read.form_report import build_form_report, is_form_plan
    from nok_workflow.services.read.report import build_report

    period = report_period(*parse_quarter(quarter), year_to_date)
    if is_form_plan(engine, plan) and not summary:
        form = build_form_report(engine, plan, period, now=context.now(now), base_url=settings.base_url)
        write_atomically(output, render(form, chosen), force=force)
        rows = form.rows
        console.print(f"{output}: отчёт по форме № 457 за {period.label}, мероприятий {len(rows)} — выполнено "
                      f"{sum(1 for r in rows if r.done_on and not r.overdue_since)}, просрочено "
                      f"{sum(1 for r in rows if r.overdue_since)}", markup=False)
        return
    built = build_report(engine, plan, period, now=context.now(now), base_url=settings.base_url)
    write_atomically(output, render(built, chosen), force=force)
    t = built.totals
    console.print(f"{output}: {period.label}, обязательств со сроком в периоде {t.total} — в срок {t.on_time}, "
                  f"с нарушением срока {t.late}, не выполнено {t.not_done}, в работе {t.in_progress}, "
                  f"отменено {t.cancelled}", markup=False)
