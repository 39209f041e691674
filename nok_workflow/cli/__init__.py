"""The `nok` command. Thin: it parses arguments and calls services.

Prefect is never imported here at module level: `nok deadline` and `nok plan validate`
must start in well under a second (importing prefect costs ~2 s).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys

import typer

from nok_workflow.cli import api_tokens
from nok_workflow.cli import campaign as campaign_cmd
from nok_workflow.cli import deadline as deadline_cmd
from nok_workflow.cli import directory as directory_cmd
from nok_workflow.cli import evidence as evidence_cmd
from nok_workflow.cli import feeds as feeds_cmd
from nok_workflow.cli import links as links_cmd
from nok_workflow.cli import outbox as outbox_cmd
from nok_workflow.cli import plan as plan_cmd
from nok_workflow.cli import plan_store
from nok_workflow.cli import report as report_cmd
from nok_workflow.cli import run as run_cmd
from nok_workflow.cli import status as status_cmd
from nok_workflow.cli import users as users_cmd
from nok_workflow.cli.output import err_console
from nok_workflow.cli.plan_import import import_command
from nok_workflow.problems import InputError

app = typer.Typer(
    help="nok — планы НОК/НОКО: сроки, ответственные, документы.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plan_cmd.app.command("import")(import_command)
plan_cmd.app.command("load")(plan_store.load)
plan_cmd.app.command("list")(plan_store.list_plans)
plan_cmd.app.command("history")(plan_store.history)
plan_cmd.app.command("deploy")(run_cmd.deploy)
app.add_typer(plan_cmd.app, name="plan")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(outbox_cmd.app, name="outbox")
app.add_typer(links_cmd.app, name="link")
app.command("waive")(evidence_cmd.waive)
app.command("status")(status_cmd.status)
app.command("audit")(status_cmd.audit)
app.add_typer(status_cmd.db_app, name="db")
app.command("serve")(run_cmd.serve)
app.command("sweep")(run_cmd.sweep)
app.command("prefect-server")(run_cmd.prefect_server)
app.command("deadline")(deadline_cmd.deadline)
app.add_typer(api_tokens.app, name="token")
app.add_typer(users_cmd.app, name="user")
app.add_typer(directory_cmd.app, name="directory")
app.add_typer(feeds_cmd.app, name="feed")
app.add_typer(campaign_cmd.app, name="campaign")
app.command("ical")(feeds_cmd.ical)
app.command("report")(report_cmd.report)


_signalled: list[int] = []


def _interrupted(signum: int, _frame) -> None:  # noqa: ANN001
    # SIGTERM ends a command as Ctrl-C does: one line, no traceback. Remembered because what
    # follows the KeyboardInterrupt varies: Typer turns it into a silent exit 130, pydantic wraps
    # it in a serialization error when it lands inside Prefect's settings.
    _signalled.append(signum)
    raise KeyboardInterrupt


def _say_interrupted() -> None:
    err_console.print("прервано")
    # Ends here rather than by sys.exit: in CPython 3.11 an interrupt that lands in code run by
    # exec() of a string (dataclasses and SQLAlchemy build methods that way) marks the
    # interpreter, and after a clean SystemExit it would still end itself with SIGINT, not 130
    # (4 runs in 60 of a SIGTERM as the store opens). What the interpreter's exit would do
    # is done here: the atexit handlers (Prefect stops a server it started; logging flushes)
    # and the streams. The store needs no clean-up: what a command had not committed is rolled
    # back by the database, as after kill -9.
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    if os.environ.get("PREFECT_API_URL") == "":
        # Empty means "no server" to us; Prefect would take it as a server and fail every event.
        del os.environ["PREFECT_API_URL"]
    try:
        app()
    except InputError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        _say_interrupted()
    except SystemExit:
        if _signalled:
            _say_interrupted()
        raise
    except Exception as exc:
        if _signalled:
            _say_interrupted()
        # A database that went away mid-command is the operator's problem to fix, not a bug.
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        err_console.print(f"ошибка базы данных: {exc.orig}; ничего не записано наполовину — повторите команду",
                          markup=False)
        sys.exit(1)
