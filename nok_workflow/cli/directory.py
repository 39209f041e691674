"""`nok directory import | missing | list | set-email` — a coordinator's own directory of
addresses: the plans' parties without an address of their own take it from there."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, print_json
from nok_workflow.problems import InputError

app = typer.Typer(help="Справочник координатора: адреса почты исполнителей и организаций.", no_args_is_help=True)

COORDINATOR = typer.Option(None, "--coordinator", help="Чей справочник (логин координатора); "
                                                       "по умолчанию — единственный координатор")
JSON = typer.Option(False, "--json", help="Вывести JSON")


def _owner(engine, given: str | None) -> str:  # noqa: ANN001 - Engine
    from nok_workflow.services.read.directory import default_owner

    return default_owner(engine, given)


@app.command("import")
def import_list(
    file: Path = typer.Argument(..., help="Список организаций: .xlsx, .ods или .csv"),
    apply: bool = typer.Option(False, "--apply", help="Записать (без него — только показать, что изменится)"),
    coordinator: str | None = COORDINATOR,
    now: str | None = context.NOW_OPTION,
) -> None:
    """Загрузить список организаций: сначала показывает, что изменится, с --apply — записывает."""
    from nok_workflow.services.commands import directory_import

    engine = context.engine()
    owner = _owner(engine, coordinator)
    preview = directory_import.preview(engine, owner, file)
    counts = preview.counts()
    for row in preview.rows:
        if row.action == "error":
            console.print(f"[red]✗[/] {row.origin}: {row.message}", highlight=False)
        elif row.action == "update":
            console.print(f"  {row.origin}: обновление {row.entry_id} — {row.message}", markup=False)
    console.print(f"Новых записей: {counts['new']}, обновлений: {counts['update']}, без изменений: "
                  f"{counts['same']}, ошибок: {counts['error']}", highlight=False)
    if counts["error"]:
        raise InputError([_refusal(file, counts["error"])])
    if not apply:
        console.print("Ничего не записано. Записать: добавьте --apply", markup=False)
        return
    directory_import.apply(engine, owner, file, by=owner, now=context.now(now))
    console.print(f"[green]✓[/] справочник «{owner}»: добавлено {counts['new']}, обновлено {counts['update']}",
                  highlight=False)


def _refusal(file: Path, errors: int):  # noqa: ANN202 - Problem
    from nok_workflow.problems import Problem

    return Problem(str(file), 0, 0, f"в списке ошибок: {errors} (выше); ничего не записано — исправьте файл "
                                    "и загрузите снова")


@app.command("missing")
def missing(coordinator: str | None = COORDINATOR, json_out: bool = JSON,
            limit: int = typer.Option(200, "--limit", min=1, help="Сколько строк показать")) -> None:
    """Кто в ваших планах без адреса почты и сколько открытых обязательств у каждого."""
    from nok_workflow.services.read.directory import missing as read_missing

    engine = context.engine()
    rows, total = read_missing(engine, _owner(engine, coordinator), limit=limit)
    if json_out:
        print_json([{"id": r.id, "name": r.name, "kind": r.kind, "plans": r.plans, "open": r.open} for r in rows])
        return
    if not rows:
        console.print("У всех исполнителей и организаций ваших планов есть адрес почты.", markup=False)
        return
    table = Table("id", "Наименование", "Открытых обязательств", "Планов")
    for r in rows:
        table.add_row(r.id, r.name, str(r.open), str(r.plans))
    console.print(table)
    console.print(f"Без адреса: {total}" + (f" (показано {len(rows)})" if total > len(rows) else "")
                  + ". Задать адрес: nok directory set-email ID АДРЕС", markup=False)


@app.command("list")
def list_entries(coordinator: str | None = COORDINATOR, search: str = typer.Option("", "--search", help="Поиск"),
                 json_out: bool = JSON,
                 limit: int = typer.Option(500, "--limit", min=1, help="Сколько строк показать")) -> None:
    """Записи справочника."""
    from nok_workflow.services.read.directory import entries

    engine = context.engine()
    rows, total = entries(engine, _owner(engine, coordinator), query=search, limit=limit)
    if json_out:
        print_json([r.__dict__ for r in rows])
        return
    if not rows:
        console.print("Справочник пуст." if not search else "Ничего не найдено.", markup=False)
        return
    table = Table("id", "Наименование", "Почта", "ИНН")
    for r in rows:
        table.add_row(r.id, r.name, r.email or "— нет —", r.code or "")
    console.print(table)
    if total > len(rows):
        console.print(f"Показано {len(rows)} из {total}.", markup=False)


@app.command("set-email")
def set_email(entry_id: str = typer.Argument(..., help="id записи (как в плане)"),
              email: str = typer.Argument(..., help="Адрес почты"),
              coordinator: str | None = COORDINATOR, now: str | None = context.NOW_OPTION) -> None:
    """Задать адрес почты: со следующей сводки письма идут на него, план перезагружать не нужно."""
    from nok_workflow.services.commands import directory

    engine = context.engine()
    owner = _owner(engine, coordinator)
    used = directory.set_email(engine, owner, entry_id, email, by=owner, now=context.now(now))
    console.print(f"[green]✓[/] «{entry_id}»: {email.strip()}; в планах: {used}", highlight=False)
