"""`nok plan …` — validate and show plan files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from nok_workflow.cli.output import console, err_console, print_json
from nok_workflow.cli.rollover import rollover
from nok_workflow.problems import InputError

# The plan modules (pydantic models, YAML, the deadline grammar) load in the commands that
# use them: every `nok` command imports this module.

app = typer.Typer(help="Планы: проверка, просмотр, импорт, перенос на новый год.", no_args_is_help=True)
app.command("rollover")(rollover)


@app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="YAML-файлы планов"),
    strict: bool = typer.Option(False, "--strict", help="Считать предупреждения ошибками"),
) -> None:
    """Проверить планы: все ошибки сразу, в виде файл:строка:столбец: сообщение."""
    from nok_workflow.plan.validate import load_plan
    from nok_workflow.text import plural

    failed = 0
    for file in files:
        try:
            loaded = load_plan(file)
        except InputError as exc:
            failed += 1
            for problem in exc.problems:
                err_console.print(str(problem), markup=False)
            continue
        for warning in loaded.warnings:
            err_console.print(str(warning), markup=False)
        if strict and loaded.warnings:
            failed += 1
            continue
        items = len(loaded.compiled.items)
        console.print(
            f"[green]✓[/] {file}: план «{loaded.plan.id}», "
            f"{plural(items, 'пункт', 'пункта', 'пунктов')}, "
            f"{plural(len(loaded.warnings), 'предупреждение', 'предупреждения', 'предупреждений')}"
        )
    if failed:
        err_console.print(f"Ошибки в {plural(failed, 'файле', 'файлах', 'файлах')} из {len(files)}")
        raise typer.Exit(1)


@app.command("show")
def show(
    file: Path = typer.Argument(..., help="YAML-файл плана"),
    json_out: bool = typer.Option(False, "--json", help="Вывести JSON"),
) -> None:
    """Показать, как понят каждый пункт плана: сроки, ответственные, документы."""
    from nok_workflow.plan.describe import describe, interpretation_text, owner_label
    from nok_workflow.plan.validate import load_plan
    from nok_workflow.text import date_short

    data = describe(load_plan(file))
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]{data['title']}[/]")
    if data["approval_act"]:
        console.print(data["approval_act"])
    console.print(
        f"Период: {data['period']['start']} — {data['period']['end']}, часовой пояс {data['timezone']}"
    )
    current_section = object()
    for item in data["items"]:
        if item["section"] != current_section:
            current_section = item["section"]
            section = next(x for x in data["sections"] if x["number"] == current_section)
            heading = f"{section['number'] or ''} {section['title']}".strip()
            if section["criterion"]:
                heading += f" (критерий {section['criterion']})"
            if heading:
                console.print(f"\n[bold]{heading}[/]", highlight=False)
        console.print(f"\n[bold cyan]{item['key']}[/] {item['title']}", highlight=False)
        if item["shortcoming"]:
            console.print(f"    Недостаток: {item['shortcoming']}", highlight=False)
        console.print(f"    Срок: «{item['deadline']}» → " + interpretation_text(item), highlight=False)
        owners = "; ".join(owner_label(o) for o in item["owners"]) or "—"
        console.print(f"    Ответственные: {owners}", highlight=False)
        results = "; ".join(item["results"]) or "—"
        console.print(f"    Результат: {results}", highlight=False)
        if item["progress"]:
            done_on = item["progress"]["done_on"]
            console.print(f"    Сделано: {item['progress']['measures']}"
                          + (f" (выполнено {date_short(dt.date.fromisoformat(done_on))})" if done_on else ""),
                          highlight=False)
        for warning in item["warnings"]:
            console.print(f"    [yellow]⚠ {warning}[/]", highlight=False)
    for warning in data["warnings"]:
        err_console.print(warning, markup=False)


@app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "-o", "--output", help="Куда записать JSON Schema"),
) -> None:
    """Вывести JSON Schema формата плана (для подсказок в редакторе)."""
    from nok_workflow.plan.schema_export import schema_json

    text = schema_json()
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"записано: {output}")
