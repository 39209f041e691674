"""`nok plan import DOC -o plan.yaml` — a plan document (Word, OpenDocument, PDF, sheet, CSV, text) into plan YAML."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from nok_workflow.cli.output import console, err_console

_SCHEMA = Path(__file__).resolve().parents[2] / "plan_definitions" / "plan.schema.json"


def import_command(
    document: Path = typer.Argument(..., help="Документ плана: .docx, .odt, PDF с текстом, .xlsx, .ods, CSV или текст"),
    output: Path = typer.Option(..., "-o", "--output", help="Куда записать YAML плана"),
    year: int | None = typer.Option(None, "--year", min=1900, max=2200,
                                    help="Год плана, если в документе его нет "
                                         "(годы, указанные в документе, важнее)"),
    directory: Path | None = typer.Option(None, "--directory",
                                          help="YAML со справочником (directory, groups, organisations)"),
    timezone: str = typer.Option("Europe/Moscow", "--timezone", help="Часовой пояс плана"),
    plan_id: str | None = typer.Option(None, "--id", help="id плана (по умолчанию — имя файла)"),
    force: bool = typer.Option(False, "--force", help="Заменить существующий файл"),
) -> None:
    """Импортировать план из документа (.docx, .odt, PDF с текстом, таблицы .xlsx, .ods, CSV или текста); напечатать отчёт."""
    from nok_workflow.files import write_atomically
    from nok_workflow.importer.build import import_plan, load_directory
    from nok_workflow.text import plural

    people = load_directory(directory) if directory else None
    schema_ref = os.path.relpath(_SCHEMA, output.resolve().parent) if _SCHEMA.exists() else "plan.schema.json"
    result = import_plan(document, output_name=str(output), year=year, directory=people,
                         timezone=timezone, plan_id=plan_id, schema_ref=schema_ref)
    write_atomically(output, result.text, force=force)
    report = result.report
    console.print(
        f"[green]✓[/] {output}: импортировано {plural(report.rows, 'пункт', 'пункта', 'пунктов')} "
        f"в {plural(report.sections, 'разделе', 'разделах', 'разделах')}"
    )
    for line in report.outline:
        console.print(line, markup=False)
    if report.created:
        console.print("Новые записи справочника (проверьте и дополните адреса):")
        for line in report.created:
            console.print(f"  {line}")
    if report.notes:
        err_console.print("Проверьте:")
        for line in report.notes:
            err_console.print(f"  {line}")
    if report.similar:
        err_console.print("Похоже на одного исполнителя под разными названиями (если так, добавьте одно "
                          "название в aliases записи справочника и повторите импорт с --directory):")
        for line in report.similar:
            err_console.print(f"  {line}")
    if report.warnings:
        err_console.print("Предупреждения проверки нового плана:")
        for line in report.warnings:
            err_console.print(f"  {line}")
