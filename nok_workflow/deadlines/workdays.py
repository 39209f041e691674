"""Working days by the Russian production calendar.

The ``holidays`` package (country RU) knows the public holidays and the government's
transfers of days off, including Saturdays made working days (e.g. 2 November 2024).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    # One instance; it fills in further years lazily when asked about them.
    return holidays.country_holidays("RU", language="ru")


def is_working_day(day: dt.date) -> bool:
    return bool(_calendar().is_working_day(day))


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_day_on_or_before(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day
