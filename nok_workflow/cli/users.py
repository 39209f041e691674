"""`nok user add | password | list` — coordinators' accounts for the web pages."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from nok_workflow.cli import context
from nok_workflow.cli.output import console, print_json
from nok_workflow.problems import InputError, Problem

app = typer.Typer(help="Учётные записи координаторов для веб-страниц.", no_args_is_help=True)

PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Прочитать пароль из первой строки ввода (для скриптов)")


def _password(from_stdin: bool) -> str:
    """Typed twice without echo, or the first line of the input — never an argument, which
    would stay in the shell's history and the process list."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise InputError([Problem("--password-stdin", 0, 0, "на вход не подан пароль (пустая строка)")])
        return password
    if not sys.stdin.isatty():
        raise InputError([Problem("пароль", 0, 0, "пароль вводится с клавиатуры; в скрипте подайте его на вход с "
                                                 "--password-stdin или создайте вход только по ссылке: --no-password")])
    return typer.prompt("Пароль (не меньше 10 символов)", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    login: str = typer.Argument(..., help="Логин = id координатора в планах (поле coordinator)"),
    name: str = typer.Option(..., "--name", help="Имя, которое видно на страницах"),
    email: str | None = typer.Option(None, "--email", help="Адрес для входа по ссылке из письма"),
    password_stdin: bool = PASSWORD_STDIN,
    no_password: bool = typer.Option(False, "--no-password", help="Без пароля: вход только по ссылке из письма"),
    now: str | None = context.NOW_OPTION,
) -> None:
    """Создать учётную запись координатора."""
    from nok_workflow.services.commands import accounts

    if password_stdin and no_password:
        raise InputError([Problem("--no-password", 0, 0, "укажите что-то одно: --password-stdin или --no-password")])
    if no_password and not email:
        raise InputError([Problem("--no-password", 0, 0, "без пароля войти можно только по ссылке из письма: "
                                                         "укажите --email")])
    # A short password is refused before the store is opened or the password asked twice.
    password = None if no_password else _password(password_stdin)
    if password is not None:
        accounts.check_password(password)
    account = accounts.add(context.engine(), login=login, name=name, email=email, password=password,
                           now=context.now(now))
    how = "по паролю" + (" или по ссылке из письма" if account.email else "") if password else "по ссылке из письма"
    console.print(f"[green]✓[/] учётная запись «{account.login}» создана; вход {how}", highlight=False)
    plans = accounts.coordinated_plans(context.engine(), account.login)
    if not plans:
        console.print(f"  «{account.login}» пока не координатор ни одного плана: в плане должно быть "
                      f"coordinator: {account.login}", markup=False)


@app.command("password")
def password(
    login: str = typer.Argument(..., help="Логин"),
    password_stdin: bool = PASSWORD_STDIN,
    now: str | None = context.NOW_OPTION,
) -> None:
    """Задать новый пароль; все открытые входы этой учётной записи закрываются."""
    from nok_workflow.services.commands import accounts

    new = _password(password_stdin)
    accounts.check_password(new)
    accounts.set_password(context.engine(), login=login, password=new, now=context.now(now))
    console.print(f"[green]✓[/] пароль «{login}» изменён; прежние входы закрыты", highlight=False)


@app.command("list")
def list_accounts(json_out: bool = typer.Option(False, "--json", help="Вывести JSON")) -> None:
    """Учётные записи и планы, которые ведёт каждая."""
    from nok_workflow.services.commands import accounts

    engine = context.engine()
    rows = [{"login": a.login, "name": a.name, "email": a.email, "password": a.password_hash is not None,
             "active": a.active, "plans": accounts.coordinated_plans(engine, a.login)}
            for a in accounts.accounts(engine)]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("Учётных записей нет. Создайте: nok user add <логин> --name \"Имя\" --email адрес", markup=False)
        return
    table = Table("Логин", "Имя", "Почта", "Вход", "Планы")
    for r in rows:
        how = "пароль, ссылка" if r["password"] and r["email"] else "пароль" if r["password"] else "ссылка"
        table.add_row(r["login"], r["name"], r["email"] or "—", how if r["active"] else "отключена",
                      ", ".join(r["plans"]) or "—")
    console.print(table)
