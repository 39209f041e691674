"""Calendar periods (month, quarter, half-year, year) and their labels."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Literal

Unit = Literal["month", "quarter", "half_year", "year"]
MONTHS_PER: dict[str, int] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def span(unit: Unit, year: int, index: int) -> tuple[dt.date, dt.date]:
    """First and last day of the ``index``-th (1-based) ``unit`` of ``year``."""
    size = MONTHS_PER[unit]
    first_month = (index - 1) * size + 1
    return dt.date(year, first_month, 1), month_end(year, first_month + size - 1)


def label(unit: Unit, year: int, index: int) -> str:
    if unit == "month":
        return f"{year}-{index:02d}"
    if unit == "quarter":
        return f"{year}-Q{index}"
    if unit == "half_year":
        return f"{year}-H{index}"
    return str(year)


def periods_between(unit: Unit, start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    """(year, index) of every ``unit`` that overlaps [start, end]."""
    size = MONTHS_PER[unit]
    year, index = start.year, (start.month - 1) // size + 1
    while True:
        first, _ = span(unit, year, index)
        if first > end:
            return
        yield year, index
        index += 1
        if index > 12 // size:
            year, index = year + 1, 1


def next_month_day(last_day: dt.date, day: int) -> dt.date:
    """Day ``day`` of the month after ``last_day``, clamped to that month's length."""
    year, month = (last_day.year + 1, 1) if last_day.month == 12 else (last_day.year, last_day.month + 1)
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
