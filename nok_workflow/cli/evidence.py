"""`nok evidence submit | review | list` and `nok waive`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import REVIEW_STATES, console, print_json
from nok_workflow.problems import InputError, Problem

app = typer.Typer(help="Подтверждающие документы: загрузка, проверка, список.", no_args_is_help=True)


def _date(value: str | None, option: str) -> dt.date | None:
    from nok_workflow.clock import parse_day

    return None if value is None else parse_day(value, option)


@app.command("submit")
def submit(
    plan: str = typer.Option(..., "--plan", help="id плана"),
    item: str = typer.Option(..., "--item", help="Номер пункта (как в nok plan show) или его id"),
    by: str = typer.Option(..., "--by", help="Кто загружает: id исполнителя или организации"),
    period: str | None = typer.Option(None, "--period", help="Период, напр. 2024-Q3"),
    org: str | None = typer.Option(None, "--org", help="Организация (для пунктов «каждая организация»)"),
    file: Path | None = typer.Option(None, "--file", help="Файл документа"),
    url: str | None = typer.Option(None, "--url", help="Ссылка на публикацию"),
    document_date: str | None = typer.Option(None, "--document-date", help="Дата документа (подписания)"),
    allow_early: str | None = typer.Option(
        None, "--allow-early", help="Координатор: принять документ, датированный раньше открытия пункта (причина)"),
    now: str | None = context.NOW_OPTION,
    allow_past: bool = typer.Option(False, "--allow-past",
                                    help="Загрузить, даже если план уже выполнялся за более поздний день"),
) -> None:
    """Загрузить документ, подтверждающий исполнение пункта."""
    from nok_workflow.evidence_files import PathSource, printable
    from nok_workflow.services.commands.evidence import submit as submit_evidence
    from nok_workflow.services.jobs.sweep import check_run_day

    config = context.settings()
    engine = context.engine()
    moment = context.now(now)
    # A moment before the plan's last run (a forgotten --now in a simulation) is refused
    # before the evidence is stored, not after.
    check_run_day(engine, plan, moment, allow_past)
    evidence = submit_evidence(
        engine, config.evidence_dir, plan_id=plan, item=item, by=by, now=moment,
        period=period, org=org, upload=PathSource(os.fsencode(file)) if file is not None else None, url=url,
        document_date=_date(document_date, "--document-date"), allow_early=allow_early,
        max_bytes=config.evidence_max_bytes,
    )
    what = printable(evidence.file_name or evidence.url or "")
    console.print(f"[green]✓[/] документ №{evidence.id} принят к учёту: {escape(what)}, "
                  f"дата документа {evidence.document_date:%d.%m.%Y}", highlight=False)
    # Dependent items unblock and relative deadlines get their dates now, not tomorrow.
    from nok_workflow import clock
    from nok_workflow.runtime.orchestrate import trigger_plan

    console.print(trigger_plan(engine, plan, config, clock.simulated(now), allow_past), markup=False)


@app.command("review")
def review(
    evidence_id: int = typer.Argument(..., help="№ документа"),
    accept: bool = typer.Option(False, "--accept", help="Принять"),
    reject: str | None = typer.Option(None, "--reject", help="Отклонить с причиной"),
    by: str = typer.Option(..., "--by", help="Кто проверяет (координатор)"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Принять или отклонить документ; отклонённый документ снова открывает пункт."""
    from nok_workflow.services.commands.evidence import review as review_evidence

    if accept == (reject is not None):
        raise InputError([Problem("review", 0, 0, "укажите ровно одно: --accept или --reject «причина»")])
    evidence = review_evidence(context.engine(), evidence_id=evidence_id, accept=accept, reason=reject,
                               by=by, now=context.now(now))
    word = "принят" if evidence.review == "accepted" else "отклонён"
    console.print(f"документ №{evidence.id} {word}")


@app.command("list")
def list_command(
    plan: str | None = typer.Option(None, "--plan"),
    item: str | None = typer.Option(None, "--item"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
) -> None:
    """Загруженные документы."""
    from nok_workflow.evidence_files import printable
    from nok_workflow.services.commands.evidence import list_evidence

    rows = list_evidence(context.engine(), plan_id=plan, item=item)
    if json_out:
        print_json(rows)
        return
    table = Table("№", "План", "Пункт", "Период", "Организация", "Документ", "Дата", "Кто", "Проверка")
    for r in rows:
        # Names and links are the users' text: shown escaped, never as markup or terminal codes.
        shown = escape(printable(r["file"] or r["url"] or ""))
        table.add_row(str(r["id"]), r["plan"], r["item"], r["period"], r["org"] or "", shown,
                      r["document_date"], r["submitted_by"], REVIEW_STATES.get(r["review"], r["review"]))
    console.print(table)


def waive(
    plan: str = typer.Option(..., "--plan"),
    item: str = typer.Option(..., "--item"),
    reason: str = typer.Option(..., "--reason", help="Причина снятия"),
    by: str = typer.Option(..., "--by", help="Координатор плана"),
    period: str | None = typer.Option(None, "--period"),
    org: str | None = typer.Option(None, "--org"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Снять обязательство (решение координатора, с причиной)."""
    from nok_workflow.services.commands.evidence import waive as waive_obligation

    ob = waive_obligation(context.engine(), plan_id=plan, item=item, period=period, org=org, reason=reason,
                          by=by, now=context.now(now))
    console.print(f"обязательство снято: пункт {item}, период {ob.period}", markup=False)
