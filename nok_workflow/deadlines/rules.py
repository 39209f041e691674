"""The rules of the deadline grammar: each a full match over the normalised wording.

A rule returns an Interpretation, or None when its pattern matched but the wording still
cannot be read for certain (then the wording is reported as not understood). Rules are tried
in the order they are defined. docs/deadlines.md is the table of what each one means.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from nok_workflow.deadlines.context import Context, PlanPeriod, recurrence, window
from nok_workflow.deadlines.model import Interpretation, Occurrence
from nok_workflow.deadlines.periods import Unit, label, month_end, periods_between, span
from nok_workflow.deadlines.vocabulary import (
    DATE,
    HALF,
    MONTH,
    QUARTER,
    SCHOOL_YEAR,
    SCHOOL_YEARS,
    WORD_DATE,
    YEAR,
    month_number,
    roman_or_int,
)
from nok_workflow.deadlines.workdays import add_working_days
from nok_workflow.text import plural

Rule = Callable[[re.Match, Context], Interpretation | None]
RULES: list[tuple[re.Pattern, Rule]] = []

_SY = re.escape(SCHOOL_YEAR)
_BY = r"(?:(?:до|не позднее|не позже|по|к|срок)\s+)?"
_WITHIN = r"(?:(?:в|в течение|на протяжении|до конца|к концу|до окончания|в конце)\s+)?"
_UNIT_OF = {"месяца": "month", "квартала": "quarter", "полугодия": "half_year", "года": "year"}


def rule(pattern: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.append((re.compile(pattern), fn))
        return fn

    return register


def _range_years(ctx: Context, y1: str | None, y2: str | None, wraps: bool, shown: str,
                 fits: Callable[[int], tuple[dt.date, dt.date]]) -> tuple[int, int]:
    """The years of a range whose end may fall in the next year; a missing year is the plan's.
    ``fits(y)``: the range if it ends in year y."""
    if y2:
        end = ctx.year(y2)
        return (ctx.year(y1) if y1 else end - wraps), end
    if y1:
        start = ctx.year(y1)
    elif len(inside := ctx.years_inside(fits)) == 1:  # the plan leaves one place for it: no doubt
        return inside[0] - wraps, inside[0]
    else:
        start = ctx.year(None) - wraps
    if wraps:
        ctx.warnings.append(
            f"диапазон «{ctx.text}» переходит через год, а год окончания не указан; "
            f"принято {shown.format(y1=start, y2=start + 1)} — проверьте"
        )
    return start, start + wraps


def _span_result(ctx: Context, opens: dt.date | None, due: dt.date | None, period: str | None = None):
    if opens is None or due is None:
        return ctx.result("unscheduled")
    if opens > due:
        return ctx.reversed_range(opens, due)
    return ctx.result("window", [Occurrence(opens, due, period or f"{opens.isoformat()}/{due.isoformat()}")])


# --- dates and ranges of dates ----------------------------------------------------------

@rule(r"(?:в период\s+)?(?:с\s+)?(?P<d1>\d{1,2})\.(?P<m1>\d{1,2})(?:\.(?P<y1>\d{4}|\d\d)|\.)?"
      r"\s*(?:-|по|до)\s*" + DATE.format(d="d2", m="m2", y="y2"))
def _date_range(m, ctx):
    due = ctx.date(m["d2"], m["m2"], m["y2"])
    if m["y1"]:
        opens = ctx.date(m["d1"], m["m1"], m["y1"])
    elif due is not None:  # «с 20.12 по 10.01.2025»: the start is in the year before the end
        d1, m1 = int(m["d1"]), int(m["m1"])
        year = due.year - ((m1, d1) > (due.month, due.day))
        opens = ctx.plain_date(year, m1, d1) if 1 <= m1 <= 12 else None
        if opens is None and not ctx.errors:
            ctx.errors.append(f"невозможная дата в сроке «{ctx.text}»: {d1:02d}.{m1:02d}")
    else:
        opens = None
    return _span_result(ctx, opens, due)


@rule(r"(?:в период\s+)?(?:с\s+)?(?P<d1>\d{1,2})(?:\s+(?P<m1>" + MONTH + r")(?:\s+" + YEAR.format(name="y1")
      + r")?)?\s*(?:-|по|до)\s*" + WORD_DATE.format(d="d2", m="m2", y="y2"))
def _word_date_range(m, ctx):
    """«с 5 по 20 ноября», «с 20 ноября по 5 декабря 2024», «с 1 сентября 2024 по 31 мая 2025»."""
    m2 = month_number(m["m2"])
    m1 = month_number(m["m1"]) if m["m1"] else m2
    d1, d2 = int(m["d1"]), int(m["d2"])
    wraps = m["m1"] is not None and (m1, d1) > (m2, d2)
    y1, y2 = _range_years(ctx, m["y1"], m["y2"], wraps, f"{d1:02d}.{m1:02d}.{{y1}} – {d2:02d}.{m2:02d}.{{y2}}",
                          lambda y: (dt.date(y - wraps, m1, d1), dt.date(y, m2, d2)))
    if ctx.errors:
        return ctx.result("unscheduled")
    return _span_result(ctx, ctx.plain_date(y1, m1, d1), ctx.plain_date(y2, m2, d2))


@rule(_BY + DATE.format(d="d", m="m", y="y"))
@rule(_BY + WORD_DATE.format(d="d", m="m", y="y"))
def _once(m, ctx):
    due = ctx.date(m["d"], m["m"], m["y"])
    if due is None:
        return ctx.result("unscheduled")
    period = ctx.period
    opens = period.start if period.start <= due else dt.date(due.year, 1, 1)
    return ctx.result("once", [Occurrence(opens, due, due.isoformat())])


# --- months, quarters, half-years, years -------------------------------------------------

@rule(r"(?:(?:в|в течение|на протяжении|в период)\s+)?(?:с\s+)?(?P<m1>" + MONTH + r")(?:\s+"
      + YEAR.format(name="y1") + r")?\s*(?:-|по|—)\s*(?P<m2>" + MONTH + r")(?:\s+" + YEAR.format(name="y2") + r")?")
def _month_range(m, ctx):
    m1, m2 = month_number(m["m1"]), month_number(m["m2"])
    wraps = m1 > m2  # «ноябрь – февраль 2025» runs over the new year
    y1, y2 = _range_years(ctx, m["y1"], m["y2"], wraps, f"{m1:02d}.{{y1}} – {m2:02d}.{{y2}}",
                          lambda y: (dt.date(y - wraps, m1, 1), month_end(y, m2)))
    opens, due = dt.date(y1, m1, 1), month_end(y2, m2)
    if opens > due:
        return ctx.reversed_range(opens, due)
    return ctx.result("window", [Occurrence(opens, due, f"{y1}-{m1:02d}/{y2}-{m2:02d}")])


@rule(_WITHIN + r"(?P<m>" + MONTH + r")(?:\s+" + YEAR.format(name="y") + r")?")
def _month(m, ctx):
    month = month_number(m["m"])
    return ctx.result("window", [window("month", ctx.year(m["y"], lambda y: span("month", y, month)), month)])


@rule(_WITHIN + QUARTER + r"(?:\s+" + YEAR.format(name="y") + r")?")
def _quarter(m, ctx):
    q = roman_or_int(m["q"])
    return ctx.result("window", [window("quarter", ctx.year(m["y"], lambda y: span("quarter", y, q)), q)])


@rule(_WITHIN + r"(?P<q1>[1-4]|iv|i{1,3})(?:-?(?:й|ый|ий))?\s*(?:кв\w*\.?)?\s*-\s*" + QUARTER
      + r"(?:\s+" + YEAR.format(name="y") + r")?")
def _quarter_range(m, ctx):
    """«II - III кв.»: from the first quarter's start to the second's end."""
    q1, q2 = roman_or_int(m["q1"]), roman_or_int(m["q"])
    year = ctx.year(m["y"], lambda y: (span("quarter", y, q1)[0], span("quarter", y, q2)[1]))
    opens, due = span("quarter", year, q1)[0], span("quarter", year, q2)[1]
    return _span_result(ctx, opens, due, f"{year}-Q{q1}/{year}-Q{q2}")


@rule(_WITHIN + HALF + r"(?:\s+" + YEAR.format(name="y") + r")?")
def _half(m, ctx):
    h = roman_or_int(m["h"])
    return ctx.result("window", [window("half_year", ctx.year(m["y"], lambda y: span("half_year", y, h)), h)])


_ONGOING_WORDS = r"(?:постоянно|систематически|регулярно|весь период)"
_THROUGHOUT = r"(?:в течение|на протяжении)(?: всего)?"


@rule(_ONGOING_WORDS + r"|" + _THROUGHOUT + r" (?:года|периода)")
def _ongoing(m, ctx):
    return ctx.result("ongoing", recurrence("quarter", ctx.period))


@rule(_THROUGHOUT + r" " + YEAR.format(name="y"))
def _ongoing_in_year(m, ctx):
    y = ctx.year(m["y"])
    return ctx.result("ongoing", recurrence("quarter", ctx.period, years=(y, y)))


@rule(r"(?:(?:в течение|на протяжении|в|постоянно,?)\s+)?" + YEAR.format(name="y1") + r"-" + YEAR.format(name="y2"))
def _ongoing_years(m, ctx):
    """«2016-2018 гг.», «в течение 2024-2025 годов»: throughout those years, confirmed quarterly."""
    y1, y2 = ctx.year(m["y1"]), ctx.year(m["y2"])
    if y1 > y2:
        return ctx.reversed_range(dt.date(y1, 1, 1), dt.date(y2, 12, 31))
    return ctx.result("ongoing", recurrence("quarter", ctx.period, years=(y1, y2)))


@rule(r"(?:(?:в|до конца|к концу|до окончания)\s+)?" + YEAR.format(name="y") + r"|(?:до конца|к концу|до окончания) года")
def _year(m, ctx):
    return ctx.result("window", [window("year", ctx.year(m["y"]), 1)])


@rule(r"в конце (?:года|" + YEAR.format(name="y") + r")")
def _end_of_year(m, ctx):
    """«в конце года»: the last month of the year."""
    return ctx.result("window", [window("month", ctx.year(m["y"]), 12)])


@rule(r"(?P<first>(?:19|20|21)\d\d),?\s*(?:а\s+)?далее[-,\s]*(?:постоянно|ежегодно|регулярно)"
      r"|(?:в|до конца)\s+(?P<first2>(?:19|20|21)\d\d),?\s*(?:а\s+)?далее[-,\s]*(?:постоянно|ежегодно|регулярно)")
def _then_ongoing(m, ctx):
    period = ctx.period
    first = ctx.year(m["first"] or m["first2"])
    first_start, first_end = dt.date(first, 1, 1), dt.date(first, 12, 31)
    opens = period.start if first_start <= period.start <= first_end else first_start
    head = Occurrence(opens, first_end, str(first))
    rest_start = max(dt.date(first + 1, 1, 1), period.start)
    rest = [] if rest_start > period.end else recurrence("quarter", PlanPeriod(rest_start, period.end))
    return ctx.result("ongoing", [head, *rest])


# --- school years: 1 September – 31 August ------------------------------------------------

def _school_year_start(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def _named_school_year(m: re.Match, ctx: Context, *, whole: bool = True) -> int | None:
    """The first year of «2024/2025 уч.год» (also «2024/25»); None when the two do not follow.
    ``whole``: the wording spans the whole school year, so its second year is checked too."""
    first = ctx.year(m["sy1"])
    second = int(m["sy2"]) if len(m["sy2"]) == 4 else first - first % 100 + int(m["sy2"])
    if second != first + 1:
        return None
    if whole:
        ctx.check_year(second)
    return first


def _plan_school_year(ctx: Context, what: str) -> int:
    """The school year a wording without years means: the plan's, when the plan lies in one."""
    start, end = _school_year_start(ctx.period.start), _school_year_start(ctx.period.end)
    if start != end:
        ctx.warnings.append(
            f"в сроке «{ctx.text}» не указан учебный год, а период плана ({ctx.period.describe()}) "
            f"захватывает больше одного; принят {start + 1}/{start + 2} учебный год ({what}) — проверьте"
        )
        return start + 1
    return start


@rule(_THROUGHOUT + r"\s+(?:" + SCHOOL_YEARS + r"|" + _SY + r")")
def _throughout_school_year(m, ctx):
    first = _named_school_year(m, ctx) if m["sy1"] else _plan_school_year(ctx, "с 1 сентября")
    if first is None:
        return None
    if ctx.errors:
        return ctx.result("unscheduled")
    years = PlanPeriod(dt.date(first, 9, 1), dt.date(first + 1, 8, 31))
    inside = PlanPeriod(max(years.start, ctx.period.start), min(years.end, ctx.period.end))
    return ctx.result("ongoing", recurrence("quarter", inside if inside.start <= inside.end else years))


@rule(r"(?:(?:в|на)\s+)?" + SCHOOL_YEARS)
def _school_year(m, ctx):
    first = _named_school_year(m, ctx)
    if first is None:
        return None
    if ctx.errors:
        return ctx.result("unscheduled")
    opens, due = dt.date(first, 9, 1), dt.date(first + 1, 8, 31)
    return _span_result(ctx, opens, due, f"{first}/{first + 1}")


@rule(r"(?:к началу|до начала|к)\s+(?:нового\s+|новому\s+)?(?:" + SCHOOL_YEARS + r"|" + _SY + r")")
def _start_of_school_year(m, ctx):
    """«к началу учебного года»: 1 September — the first one the plan reaches."""
    if m["sy1"]:
        first = _named_school_year(m, ctx, whole=False)
        if first is None:
            return None
    else:
        first = ctx.period.start.year if ctx.period.start <= dt.date(ctx.period.start.year, 9, 1) else (
            ctx.period.start.year + 1)
        if dt.date(first, 9, 1) > ctx.period.end:
            ctx.warnings.append(f"срок «{ctx.text}» (01.09.{first}) позже окончания плана "
                                f"({ctx.period.end:%d.%m.%Y})")
    due = dt.date(first, 9, 1)
    opens = ctx.period.start if ctx.period.start <= due else dt.date(first, 1, 1)
    return ctx.result("once", [Occurrence(opens, due, due.isoformat())])


# --- «по итогам …»: N working days after the period -------------------------------------

def _after_note(ctx: Context) -> None:
    ctx.notes.append(
        f"«по итогам» периода: срок — {plural(ctx.after_period_days, 'рабочий день', 'рабочих дня', 'рабочих дней')} "
        f"после его окончания (настройка плана after_period_working_days)"
    )


def _after(unit: Unit, year: int, index: int, days: int) -> Occurrence:
    _, last = span(unit, year, index)
    return Occurrence(last + dt.timedelta(days=1), add_working_days(last, days), label(unit, year, index))


@rule(r"(?:(?:ежемесячно|ежеквартально|ежегодно|раз в полугодие),?\s*)?по итогам (?:каждого\s+|отчетного\s+)?"
      r"(?P<unit>месяца|квартала|полугодия|года)")
def _after_each_period(m, ctx):
    unit: Unit = _UNIT_OF[m["unit"]]
    occ = [_after(unit, year, index, ctx.after_period_days)
           for year, index in periods_between(unit, ctx.period.start, ctx.period.end)]
    _after_note(ctx)
    return ctx.result("recurring", occ)


@rule(r"по итогам (?:" + QUARTER + r"|" + HALF + r"|(?P<m>" + MONTH + r"))(?:\s+" + YEAR.format(name="y") + r")?"
      r"|по итогам " + YEAR.format(name="yy"))
def _after_named_period(m, ctx):
    if m["yy"]:
        unit, year, index = "year", ctx.year(m["yy"]), 1
    else:
        year = ctx.year(m["y"])
        unit, index = ("quarter", roman_or_int(m["q"])) if m["q"] else (
            ("half_year", roman_or_int(m["h"])) if m["h"] else ("month", month_number(m["m"])))
    if ctx.errors:
        return ctx.result("unscheduled")
    _after_note(ctx)
    return ctx.result("once", [_after(unit, year, index, ctx.after_period_days)])


# --- recurrences -----------------------------------------------------------------------

_UNIT_WORDS = {
    "quarter": r"ежеквартально|(?:\d|один)\s+раз\s+в\s+(?:кв|квартал)|раз\s+в\s+(?:кв|квартал)"
               r"|(?:4|четыре)\s+раза\s+в\s+год",
    "month": r"ежемесячно|(?:\d|один)\s+раз\s+в\s+месяц|раз\s+в\s+месяц|12\s+раз\s+в\s+год",
    "half_year": r"ежеполугодно|(?:\d|один)\s+раз\s+в\s+(?:полугодие|полгода)|раз\s+в\s+(?:полугодие|полгода)"
                 r"|(?:2|два|дважды)\s+(?:раза\s+)?в\s+год",
    "year": r"ежегодно|(?:1|один)\s+раз\s+в\s+год|раз\s+в\s+год",
}
# Order matters: «2 раза в год» is a half-year before «N раз в год» could be read as a year.
_UNIT_ORDER = ("half_year", "quarter", "month", "year")


@rule(r"(?:(?:ежемесячно|ежеквартально),?\s*)?(?:до|не позднее)\s+(?P<day>\d{1,2})(?:-?го)?\s+числа\s+"
      r"(?:каждого|текущего)\s+месяца")
def _monthly_same_month(m, ctx):
    """«до 10 числа каждого месяца»: the 10th of every month of the plan."""
    day = int(m["day"])
    if not 1 <= day <= 31:
        ctx.errors.append(f"невозможное число месяца в сроке «{ctx.text}»: {day}")
        return ctx.result("unscheduled")
    occ = []
    for year, month in periods_between("month", ctx.period.start, ctx.period.end):
        due = dt.date(year, month, min(day, month_end(year, month).day))
        if due >= ctx.period.start:  # a date before the plan existed is not owed
            occ.append(Occurrence(max(dt.date(year, month, 1), ctx.period.start), due, label("month", year, month)))
    return ctx.result("recurring", occ)


_MONTHS = r"(?P<m1>" + MONTH + r")(?:\s*-\s*(?P<m2>" + MONTH + r"))?"


@rule(r"ежегодно,?\s*(?:в\s+)?" + _MONTHS)
@rule(_MONTHS + r",?\s*ежегодно")
def _yearly_months(m, ctx):
    """«ежегодно в декабре», «август - сентябрь, ежегодно»: those months of every year of the plan."""
    m1 = month_number(m["m1"])
    m2 = month_number(m["m2"]) if m["m2"] else m1
    if m1 > m2:
        return None  # a yearly range over the new year: not guessed
    occ = []
    for year in range(ctx.period.start.year, ctx.period.end.year + 1):
        opens, due = dt.date(year, m1, 1), month_end(year, m2)
        if due >= ctx.period.start and opens <= ctx.period.end:
            period = label("month", year, m1) if m1 == m2 else f"{year}-{m1:02d}/{year}-{m2:02d}"
            occ.append(Occurrence(max(opens, ctx.period.start), due, period))
    return ctx.result("recurring", occ)


@rule(r"(?:до|не позднее)\s+" + WORD_DATE.format(d="d", m="m", y="y_")
      + r"(?:\s+года)?,?\s*следующего за отчетным(?:\s+годом)?")
def _yearly_next_year(m, ctx):
    """«не позднее 01 июня года, следующего за отчетным»: for each year of the plan, that date of
    the year after it."""
    if m["y_"]:
        return None
    month, day = month_number(m["m"]), int(m["d"])
    occ = []
    for year in range(ctx.period.start.year, ctx.period.end.year + 1):
        due = ctx.plain_date(year + 1, month, day)
        if due is None:
            return ctx.result("unscheduled")
        occ.append(Occurrence(max(dt.date(year, 1, 1), ctx.period.start), due, str(year)))
    return ctx.result("recurring", occ)


@rule(r"(?P<unit>" + "|".join(f"(?P<{u}>{_UNIT_WORDS[u]})" for u in _UNIT_ORDER) + r")"
      r"(?:,?\s*(?:до|не позднее)\s+(?:(?P<day>\d{1,2})(?:-?го)?\s+числа(?:\s+месяца)?"
      r"(?:,?\s*следующего за отчетным(?:\s+(?:периодом|кварталом|месяцем))?)?"
      r"|" + WORD_DATE.format(d="wd", m="wm", y="wy") + r"))?"
      r"(?:,?\s*(?:в\s+)?" + YEAR.format(name="y") + r")?"
      r"|" + YEAR.format(name="ya") + r"-" + YEAR.format(name="yb") + r",?\s*(?P<unit2>ежемесячно|ежеквартально|ежегодно)")
def _recurring(m, ctx):
    if m["unit2"]:  # «2008 - 2010 ежемесячно»: in those years
        unit = {"ежемесячно": "month", "ежеквартально": "quarter", "ежегодно": "year"}[m["unit2"]]
        ya, yb = ctx.year(m["ya"]), ctx.year(m["yb"])
        if ya > yb:
            return ctx.reversed_range(dt.date(ya, 1, 1), dt.date(yb, 12, 31))
        return ctx.result("recurring", recurrence(unit, ctx.period, years=(ya, yb)))
    period = ctx.period
    unit: Unit = next(u for u in _UNIT_ORDER if m[u])
    if m["wd"] and unit != "year":
        return None
    if m["wy"] and m["y"] and m["wy"] != m["y"]:
        return None  # two different years: not guessed
    years = None
    if year_token := m["wy"] or m["y"]:
        y = ctx.year(year_token)
        years = (y, y)
        if period.years_away(y) == 0 and period.start.year != period.end.year:
            ctx.warnings.append(
                f"в сроке «{ctx.text}» указан год {y}: повторяющийся срок принят только "
                f"на {y} год, а план на {period.describe()} — проверьте"
            )
    if m["wd"]:  # «ежегодно до 1 апреля»: a date inside each period
        month = month_number(m["wm"])
        try:
            dt.date(2000, month, int(m["wd"]))  # a leap year: 29 February is fine
        except ValueError:
            ctx.errors.append(f"невозможная дата в сроке «{ctx.text}»")
            return ctx.result("unscheduled")
        occ = []
        for o in recurrence("year", period, years=years):
            year = int(o.period)
            due = dt.date(year, month, min(int(m["wd"]), month_end(year, month).day))
            if due >= period.start:  # a date before the plan existed is not owed
                occ.append(Occurrence(min(o.opens, due), due, o.period))
        return ctx.result("recurring", occ)
    day = int(m["day"]) if m["day"] else None
    if day is not None and not 1 <= day <= 31:
        ctx.errors.append(f"невозможное число месяца в сроке «{ctx.text}»: {day}")
        return ctx.result("unscheduled")
    return ctx.result("recurring", recurrence(unit, period, day, years))
