"""The one place that reads the clock: ``--now`` / ``NOK_NOW`` override it for simulation."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

from nok_workflow.problems import InputError, Problem


def parse_now(value: str, source: str = "--now") -> dt.datetime:
    """An ISO date or date-time; a date means its midnight, a naive time is UTC."""
    try:
        if len(value.strip()) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(value.strip()), dt.time())
        else:
            moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            [Problem(source, 0, 0, f"«{value}» — не дата; ожидается ГГГГ-ММ-ДД или ГГГГ-ММ-ДДTЧЧ:ММ")]
        ) from None
    if not 1970 <= moment.year <= 2200:
        # Far dates overflow date arithmetic (9999-12-30 + a day) and are never meant.
        raise InputError([Problem(source, 0, 0, f"«{value}» — год {moment.year} вне 1970–2200")])
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def simulated(override: str | None = None) -> dt.datetime | None:
    """The moment --now / NOK_NOW set, or None when the real clock is meant (a run started
    elsewhere then reads its own clock instead of being handed ours)."""
    if override or os.environ.get("NOK_NOW"):
        return now(override)
    return None


def now(override: str | None = None) -> dt.datetime:
    if override:
        return parse_now(override)
    if env := os.environ.get("NOK_NOW"):
        return parse_now(env, "NOK_NOW")
    return dt.datetime.now(dt.UTC)


def plan_time(moment: dt.datetime, timezone: str) -> dt.datetime:
    """``moment`` on the plan's own clock (``timezone``: the plan's zone, `Plan.timezone`)."""
    return moment.astimezone(ZoneInfo(timezone))


def plan_day(moment: dt.datetime, timezone: str) -> dt.date:
    """The plan's own calendar day at ``moment`` — «today» for the plan: its deadlines,
    reminders, runs, letters and pages all count days in it. The one definition of it."""
    return plan_time(moment, timezone).date()


def parse_day(value: str, where: str) -> dt.date:
    """A document's date as people write it: ГГГГ-ММ-ДД or ДД.ММ.ГГГГ (the CLI and the API)."""
    text = value.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        try:
            return dt.datetime.strptime(text, "%d.%m.%Y").date()
        except ValueError:
            raise InputError([Problem(where, 0, 0, f"«{value}» — не дата (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)")]) from None
