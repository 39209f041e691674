"""What the store-backed commands share: the engine from settings, and the moment `now`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from nok_workflow import clock
from nok_workflow.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy loads only for the commands that use the store
    from sqlalchemy import Engine

NOW_OPTION = typer.Option(None, "--now", help="Текущий момент (ГГГГ-ММ-ДД[ЧЧ:ММ]), также NOK_NOW")


def settings() -> Settings:
    return Settings()


def engine() -> Engine:
    # Imported here: SQLAlchemy and Alembic load only for the commands that use the store.
    from nok_workflow.store.db import connect

    return connect(settings().store_url())


def now(value: str | None) -> dt.datetime:
    return clock.now(value)


def plan_coordinator(engine: Engine, plan: str | None) -> str | None:
    """Who acts by default in a plan's audit entries: its coordinator (None: no such plan)."""
    if plan is None:
        return None
    from nok_workflow.services.read.catalog import plan_coordinator as coordinator

    return coordinator(engine, plan)
