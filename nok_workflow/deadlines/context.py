"""What a wording is read against: the plan period, and the warnings and errors of one reading.

Also the calendar helpers every rule shares (windows, recurrences, years outside the plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from nok_workflow.deadlines.model import Interpretation, Occurrence
from nok_workflow.deadlines.periods import (
    Unit,
    label,
    next_month_day,
    periods_between,
    span,
)
from nok_workflow.deadlines.vocabulary import month_number


@dataclass(frozen=True)
class PlanPeriod:
    start: dt.date
    end: dt.date

    @classmethod
    def year(cls, year: int) -> PlanPeriod:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    def describe(self) -> str:
        if self.start.year == self.end.year:
            return str(self.start.year)
        return f"{self.start.year}–{self.end.year}"

    def years_away(self, year: int) -> int:
        """How many years ``year`` lies outside the plan's years (0 inside)."""
        return max(self.start.year - year, year - self.end.year, 0)


# A year this far outside the plan is a mistake, not a plan reaching into the next year
# (the Orenburg plan for autumn 2024 has an item in «I квартал 2025 г.»).
YEARS_OF_GRACE = 1

# «по итогам квартала» is due this many working days after the quarter unless the plan says
# otherwise (plan field ``after_period_working_days``).
AFTER_PERIOD_WORKING_DAYS = 10


class Context:
    """The plan period plus the warnings and errors gathered while reading one wording."""

    def __init__(self, text: str, period: PlanPeriod, after_period_days: int = AFTER_PERIOD_WORKING_DAYS) -> None:
        self.text = text
        self.period = period
        self.after_period_days = after_period_days
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def year(self, token: str | None, fits: Callable[[int], tuple[dt.date, dt.date]] | None = None) -> int:
        """The year a wording names; without one, the plan's. ``fits(year)`` is the span the
        wording would cover in that year: in a plan over two years (a school year) the one
        year that puts it inside the plan is taken without a doubt («май» in 2012/2013 → 2013)."""
        if token is None:
            if fits is not None and len(inside := self.years_inside(fits)) == 1:
                return inside[0]
            if self.period.start.year != self.period.end.year:
                self.warnings.append(
                    f"в сроке «{self.text}» не указан год; принят {self.period.start.year} "
                    f"(план на {self.period.describe()}) — проверьте"
                )
            return self.period.start.year
        if len(token) == 2:
            year = nearest_century(int(token), self.period)
            self.warnings.append(
                f"год «{token}» в сроке «{self.text}» записан двумя цифрами; принят {year} — проверьте"
            )
        else:
            year = int(token)
        return self.check_year(year)

    def years_inside(self, fits: Callable[[int], tuple[dt.date, dt.date]]) -> list[int]:
        """The years (from the one before the plan to the one after) that put ``fits`` in the plan."""
        years = []
        for year in range(self.period.start.year - 1, self.period.end.year + 2):
            try:
                first, last = fits(year)
            except ValueError:  # 29 February of a common year
                continue
            if first <= self.period.end and last >= self.period.start:
                years.append(year)
        return years

    def check_year(self, year: int) -> int:
        """Warn about a year just outside the plan, refuse one further away."""
        warning, error = year_problem(year, self.period, self.text)
        if warning:
            self.warnings.append(warning)
        if error:
            self.errors.append(error)
        return year

    def date(self, day: str, month: str | int, year: str | None) -> dt.date | None:
        month_no = month if isinstance(month, int) else (
            int(month) if month.isdigit() else month_number(month)
        )
        y = self.year(year, lambda y: (dt.date(y, month_no, int(day)),) * 2)
        if self.period.years_away(y) > YEARS_OF_GRACE:
            return None  # already an error; year 0 or 9999 need no second complaint
        try:
            return dt.date(y, month_no, int(day))
        except ValueError:
            self.errors.append(f"невозможная дата в сроке «{self.text}»: {day}.{month_no:02d}.{y}")
            return None

    def plain_date(self, year: int, month: int, day: int) -> dt.date | None:
        """A date whose year was already checked (derived from another date of the wording)."""
        try:
            return dt.date(year, month, day)
        except ValueError:
            self.errors.append(f"невозможная дата в сроке «{self.text}»: {day:02d}.{month:02d}.{year}")
            return None

    def reversed_range(self, opens: dt.date, due: dt.date) -> Interpretation:
        self.errors.append(
            f"начало позже окончания в сроке «{self.text}»: {opens:%d.%m.%Y} позже {due:%d.%m.%Y}"
        )
        return self.result("unscheduled")

    def result(self, kind, occurrences=(), relative=None) -> Interpretation:
        if self.errors:
            kind, occurrences, relative = "unscheduled", (), None
        elif kind in ("once", "window") and occurrences and not self.warnings and (
                occurrences[-1].due < self.period.start):
            self.warnings.append(f"срок «{self.text}» раньше начала плана ({self.period.start:%d.%m.%Y})")
        elif kind in ("recurring", "ongoing") and not occurrences:
            self.warnings.append(
                f"по сроку «{self.text}» нет ни одного срока в периоде плана ({self.period.describe()})"
            )
        return Interpretation(
            kind=kind,
            occurrences=tuple(occurrences),
            warnings=tuple(dict.fromkeys(self.warnings)),  # «с 10.10.23 по 20.10.23» warns once
            relative=relative,
            errors=tuple(self.errors),
            text=self.text,
            notes=tuple(self.notes) if not self.errors else (),
        )


def nearest_century(two_digits: int, period: PlanPeriod) -> int:
    """«74» → the year ending in 74 nearest the plan (the earlier one of a tie)."""
    base = period.start.year - period.start.year % 100 + two_digits
    return min((base - 100, base, base + 100), key=lambda y: (period.years_away(y), y))


def year_problem(year: int, period: PlanPeriod, text: str) -> tuple[str | None, str | None]:
    """(warning, error) about a year the wording names: a warning when it lies just outside the
    plan, an error when it lies further than YEARS_OF_GRACE — that is a typo, not a plan."""
    away = period.years_away(year)
    if away == 0:
        return None, None
    if away <= YEARS_OF_GRACE:
        return f"год {year} в сроке «{text}» вне периода плана ({period.describe()})", None
    low, high = period.start.year - YEARS_OF_GRACE, period.end.year + YEARS_OF_GRACE
    return None, (f"год {year:04d} в сроке «{text}» вне периода плана ({period.describe()}) "
                  f"больше чем на год: допустимы {low}–{high}")


def window(unit: Unit, year: int, index: int) -> Occurrence:
    opens, due = span(unit, year, index)
    return Occurrence(opens, due, label(unit, year, index))


def recurrence(
    unit: Unit, period: PlanPeriod, due_day: int | None = None, years: tuple[int, int] | None = None
) -> list[Occurrence]:
    """One occurrence per ``unit`` overlapping the plan period (or the given years)."""
    start, end = period.start, period.end
    if years is not None:
        start, end = max(start, dt.date(years[0], 1, 1)), min(end, dt.date(years[1], 12, 31))
        if start > end:  # the wording names years outside the plan: take them whole
            start, end = dt.date(years[0], 1, 1), dt.date(years[1], 12, 31)
    result = []
    for year, index in periods_between(unit, start, end):
        opens, last = span(unit, year, index)
        due = last if due_day is None else next_month_day(last, due_day)
        result.append(Occurrence(max(opens, start), due, label(unit, year, index)))
    return result
