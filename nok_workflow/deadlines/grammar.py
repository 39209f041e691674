"""The Russian deadline grammar of НОК plans: a wording plus the plan period → occurrences.

Pure: no I/O, no clock. Every rule is a full match over the normalised wording, so a
wording with anything left over is never half-understood: it is reported, not guessed.
What is uncertain is a warning; what is certainly wrong — an impossible date, a year more
than a year outside the plan, a range that ends before it starts — is an error, and
nothing is scheduled from it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from nok_workflow.deadlines.model import Interpretation, Occurrence, RelativeRule
from nok_workflow.deadlines.periods import (
    Unit,
    label,
    month_end,
    next_month_day,
    periods_between,
    span,
)
from nok_workflow.deadlines.workdays import add_working_days


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


# --- vocabulary -------------------------------------------------------------------------

_MONTH_STEMS = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("ма", 5), ("июн", 6),
    ("июл", 7), ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
)  # fmt: skip
MONTH = (
    r"(?:январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[ае]?"
    r"|сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])"
)
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
YEAR = r"(?P<{name}>(?:19|20|21)\d\d)"
QUARTER = r"(?P<q>[1-4]|iv|i{1,3})(?:-?(?:й|ый|ий|ом))?\s*(?:квартал[а-я]*|кв\.?)"
HALF = r"(?P<h>[12]|i{1,2})(?:-?(?:е|ое|ом|м))?\s*полугоди[еяим]"
DATE = r"(?P<{d}>\d{{1,2}})\.(?P<{m}>\d{{1,2}})\.(?P<{y}>\d{{4}}|\d\d)"
WORD_DATE = r"(?P<{d}>\d{{1,2}})\s+(?P<{m}>" + MONTH + r")(?:\s+" + YEAR.replace("{name}", "{y}") + r")?"

_NUMBER_WORDS = {
    "один": 1, "одного": 1, "одной": 1, "одну": 1, "два": 2, "двух": 2, "две": 2,
    "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6,
    "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9,
    "десять": 10, "десяти": 10, "пятнадцать": 15, "пятнадцати": 15, "двадцать": 20,
    "двадцати": 20, "тридцать": 30, "тридцати": 30,
}  # fmt: skip
NUMBER = r"(?P<n>\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"

# Wordings that say on purpose that there is no date of their own.
_UNSCHEDULED = re.compile(
    r"(?:согласно|в соответствии с|по)\s+(?:плану|графику|планам|утвержденному)\b.*"
    r"|по мере (?:необходимости|поступления|готовности).*|по согласованию.*|по запросу.*"
    r"|по отдельному (?:плану|графику).*|в установленные сроки.*"
)
_ONGOING = (
    r"(?:постоянно|в течение(?: всего)? (?:года|периода)|весь период|систематически"
    r"|в течение(?: всего)? " + YEAR.replace("{name}", "y") + r")"
)


def _month_number(word: str) -> int:
    for stem, number in _MONTH_STEMS:
        if word.startswith(stem) and not (stem == "ма" and word.startswith("мар")):
            return number
    raise ValueError(word)  # unreachable: MONTH only matches known stems


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _roman_or_int(token: str) -> int:
    return ROMAN[token] if token in ROMAN else int(token)


def normalise(text: str) -> str:
    """Lower case, one kind of dash and space, years without «г.»/«года», dates without spaces."""
    s = text.lower().replace("ё", "е").replace("\u00a0", " ")
    s = re.sub(r"[\u2010-\u2015\u2212]", "-", s)
    s = re.sub(r"<[^>]{0,200}>", " ", s)  # <b> remnants from converted documents
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\s*-\s*", "-", s)
    s = re.sub(r"(\d)\s*\.\s*(?=\d)", r"\1.", s)  # «20.11. 2015» → «20.11.2015»
    s = re.sub(r"(\d{4})\s*(?:года|году|год|гг\.?|г\.?)(?=[\s,;.)-]|$)", r"\1", s)
    s = re.sub(r"\s*,\s*", ", ", s)
    return s.strip(" .;,")


class _Context:
    """The plan period plus the warnings and errors gathered while reading one wording."""

    def __init__(self, text: str, period: PlanPeriod) -> None:
        self.text = text
        self.period = period
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def year(self, token: str | None) -> int:
        if token is None:
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
        warning, error = year_problem(year, self.period, self.text)
        if warning:
            self.warnings.append(warning)
        if error:
            self.errors.append(error)
        return year

    def date(self, day: str, month: str | int, year: str | None) -> dt.date | None:
        month_no = month if isinstance(month, int) else (
            int(month) if month.isdigit() else _month_number(month)
        )
        y = self.year(year)
        if self.period.years_away(y) > YEARS_OF_GRACE:
            return None  # already an error; year 0 or 9999 need no second complaint
        try:
            return dt.date(y, month_no, int(day))
        except ValueError:
            self.errors.append(f"невозможная дата в сроке «{self.text}»: {day}.{month_no:02d}.{y}")
            return None

    def reversed_range(self, opens: dt.date, due: dt.date) -> Interpretation:
        self.errors.append(
            f"начало позже окончания в сроке «{self.text}»: {opens:%d.%m.%Y} позже {due:%d.%m.%Y}"
        )
        return self.result("unscheduled")

    def result(self, kind, occurrences=(), relative=None) -> Interpretation:
        if self.errors:
            kind, occurrences, relative = "unscheduled", (), None
        elif kind in ("recurring", "ongoing") and not occurrences:
            self.warnings.append(
                f"по сроку «{self.text}» нет ни одного срока в периоде плана ({self.period.describe()})"
            )
        return Interpretation(
            kind=kind,
            occurrences=tuple(occurrences),
            warnings=tuple(self.warnings),
            relative=relative,
            errors=tuple(self.errors),
            text=self.text,
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


def _window(unit: Unit, year: int, index: int) -> Occurrence:
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


# --- rules: each a full match over the normalised wording ------------------------------

_P_DATE = re.compile(
    r"(?:(?:до|не позднее|не позже|по|к|срок)\s+)?" + DATE.format(d="d", m="m", y="y")
)
_P_WORD_DATE = re.compile(
    r"(?:(?:до|не позднее|не позже|по|к)\s+)?" + WORD_DATE.format(d="d", m="m", y="y")
)
_P_DATE_RANGE = re.compile(
    r"(?:с\s+)?" + DATE.format(d="d1", m="m1", y="y1")
    + r"\s*(?:-|по|до)\s*" + DATE.format(d="d2", m="m2", y="y2")
)
_P_MONTH = re.compile(
    r"(?:(?:в|до конца|в течение)\s+)?(?P<m>" + MONTH + r")(?:\s+" + YEAR.format(name="y") + r")?"
)
_P_MONTH_RANGE = re.compile(
    r"(?:с\s+)?(?P<m1>" + MONTH + r")(?:\s+" + YEAR.format(name="y1") + r")?"
    r"\s*(?:-|по|—)\s*(?P<m2>" + MONTH + r")(?:\s+" + YEAR.format(name="y2") + r")?"
)
_P_QUARTER = re.compile(
    r"(?:(?:в|до конца|в течение)\s+)?" + QUARTER + r"(?:\s+" + YEAR.format(name="y") + r")?"
)
_P_HALF = re.compile(
    r"(?:(?:в|до конца|в течение)\s+)?" + HALF + r"(?:\s+" + YEAR.format(name="y") + r")?"
)
_P_YEAR = re.compile(r"(?:(?:в|до конца)\s+)?" + YEAR.format(name="y"))
_P_ONGOING = re.compile(_ONGOING)
_P_THEN_ONGOING = re.compile(
    r"(?:(?:в|до конца)\s+)?" + YEAR.format(name="first") + r",?\s*(?:а\s+)?далее[-,\s]*"
    r"(?:постоянно|ежегодно|регулярно)"
)
_UNIT_WORDS = {
    "quarter": r"ежеквартально|(?:\d|один)\s+раз\s+в\s+(?:кв|квартал)|раз\s+в\s+(?:кв|квартал)",
    "month": r"ежемесячно|(?:\d|один)\s+раз\s+в\s+месяц|раз\s+в\s+месяц",
    "half_year": r"(?:\d|один)\s+раз\s+в\s+(?:полугодие|полгода)|раз\s+в\s+(?:полугодие|полгода)",
    "year": r"ежегодно|(?:\d|один)\s+раз\s+в\s+год|раз\s+в\s+год",
}
_P_RECURRING = re.compile(
    r"(?P<unit>" + "|".join(f"(?P<{u}>{w})" for u, w in _UNIT_WORDS.items()) + r")"
    r"(?:,?\s*(?:до|не позднее)\s+(?:(?P<day>\d{1,2})(?:-?го)?\s+числа(?:\s+месяца)?"
    r"(?:,?\s*следующего за отчетным(?:\s+(?:периодом|кварталом|месяцем))?)?"
    r"|" + WORD_DATE.format(d="wd", m="wm", y="wy") + r"))?"
    r"(?:,?\s*(?:в\s+)?" + YEAR.format(name="y") + r")?"
)
_P_RELATIVE = re.compile(
    r"(?:в течение|не позднее(?: чем через)?|не позже(?: чем через)?|через|в срок до|до истечения)?"
    r"\s*(?:" + NUMBER + r"\s*)?(?:-?х\s*)?(?P<unit>рабоч\w*\s+(?:дн\w*|день)|календарн\w*\s+(?:дн\w*|день)"
    r"|дн\w*|день|недел\w*|месяц\w*)"
    r"\s+(?:со дня|с даты|с момента|после|от даты|с)\s+(?P<event>.+)"
)


def _interpret_free(s: str, ctx: _Context) -> Interpretation | None:
    """Match the normalised wording against each rule; None when nothing matches whole."""
    period = ctx.period
    if m := _P_DATE_RANGE.fullmatch(s):
        opens = ctx.date(m["d1"], m["m1"], m["y1"])
        due = ctx.date(m["d2"], m["m2"], m["y2"])
        if opens and due and opens > due:
            return ctx.reversed_range(opens, due)
        occ = [Occurrence(opens, due, f"{opens.isoformat()}/{due.isoformat()}")] if opens and due else []
        return ctx.result("window", occ)
    if (m := _P_DATE.fullmatch(s)) or (m := _P_WORD_DATE.fullmatch(s)):
        due = ctx.date(m["d"], m["m"], m["y"])
        if due is None:
            return ctx.result("unscheduled")
        opens = period.start if period.start <= due else dt.date(due.year, 1, 1)
        if due < period.start and due.year == period.start.year:
            ctx.warnings.append(f"срок «{ctx.text}» раньше начала плана ({period.start:%d.%m.%Y})")
        return ctx.result("once", [Occurrence(opens, due, due.isoformat())])
    if m := _P_MONTH_RANGE.fullmatch(s):
        m1, m2 = _month_number(m["m1"]), _month_number(m["m2"])
        wraps = int(m1 > m2)  # «ноябрь – февраль 2025» runs over the new year
        if m["y2"]:
            y2 = ctx.year(m["y2"])
            y1 = ctx.year(m["y1"]) if m["y1"] else y2 - wraps
        elif m["y1"]:
            y1 = ctx.year(m["y1"])
            y2 = y1 + wraps
        else:
            y2 = ctx.year(None)
            y1 = y2 - wraps
        if wraps and not m["y2"]:
            ctx.warnings.append(
                f"диапазон «{ctx.text}» переходит через год, а год окончания не указан; "
                f"принято {m1:02d}.{y1} – {m2:02d}.{y2} — проверьте"
            )
        opens, due = dt.date(y1, m1, 1), month_end(y2, m2)
        if opens > due:
            return ctx.reversed_range(opens, due)
        return ctx.result("window", [Occurrence(opens, due, f"{y1}-{m1:02d}/{y2}-{m2:02d}")])
    if m := _P_MONTH.fullmatch(s):
        return ctx.result("window", [_window("month", ctx.year(m["y"]), _month_number(m["m"]))])
    if m := _P_QUARTER.fullmatch(s):
        return ctx.result("window", [_window("quarter", ctx.year(m["y"]), _roman_or_int(m["q"]))])
    if m := _P_HALF.fullmatch(s):
        return ctx.result("window", [_window("half_year", ctx.year(m["y"]), _roman_or_int(m["h"]))])
    if m := _P_ONGOING.fullmatch(s):
        years = None
        if m["y"]:
            y = ctx.year(m["y"])
            years = (y, y)
        return ctx.result("ongoing", recurrence("quarter", period, years=years))
    if m := _P_YEAR.fullmatch(s):
        return ctx.result("window", [_window("year", ctx.year(m["y"]), 1)])
    if m := _P_THEN_ONGOING.fullmatch(s):
        first = ctx.year(m["first"])
        first_start, first_end = dt.date(first, 1, 1), dt.date(first, 12, 31)
        opens = period.start if first_start <= period.start <= first_end else first_start
        head = Occurrence(opens, first_end, str(first))
        rest_start = max(dt.date(first + 1, 1, 1), period.start)
        rest = [] if rest_start > period.end else recurrence(
            "quarter", PlanPeriod(rest_start, period.end)
        )
        return ctx.result("ongoing", [head, *rest])
    if m := _P_RECURRING.fullmatch(s):
        unit: Unit = next(u for u in _UNIT_WORDS if m[u])
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
            month = _month_number(m["wm"])
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
    return None


def relative_rule(s: str) -> RelativeRule | None:
    """The offset of a wording relative to another event, if the wording is one."""
    m = _P_RELATIVE.fullmatch(s)
    if not m:
        return None
    amount = _number(m["n"]) if m["n"] else 1
    unit_word = m["unit"]
    if unit_word.startswith("рабоч"):
        return RelativeRule(amount, "working_days", event=m["event"])
    if unit_word.startswith("недел"):
        return RelativeRule(amount * 7, "days", event=m["event"])
    if unit_word.startswith("месяц"):
        return RelativeRule(amount, "months", event=m["event"])
    return RelativeRule(amount, "days", event=m["event"])


def interpret(
    text: str | None, period: PlanPeriod, *, after: str | None = None
) -> Interpretation:
    """Interpret a deadline wording within a plan period. Never raises on any string."""
    original = (text or "").strip()
    ctx = _Context(original, period)
    s = normalise(original)
    if not s:
        ctx.warnings.append("срок не указан")
        return ctx.result("unscheduled")
    if _UNSCHEDULED.fullmatch(s):
        ctx.warnings.append(f"срок «{original}» не задаёт даты: пункт без срока")
        return ctx.result("unscheduled")
    if rule := relative_rule(s):
        rule = RelativeRule(rule.amount, rule.unit, after, rule.event)
        if after is None:
            ctx.warnings.append(
                f"срок «{original}» отсчитывается от события; укажите пункт-основание (after)"
            )
        return ctx.result("relative", relative=rule)
    if (result := _interpret_free(s, ctx)) is not None:
        return result
    ctx = _Context(original, period)  # drop warnings from partial attempts
    ctx.warnings.append(f"не удалось распознать срок «{original}»: дата не назначена")
    return ctx.result("unscheduled")


def relative_due(amount: int, unit: str, anchor_done: dt.date) -> dt.date:
    """The due date of a relative deadline once its anchor item is done."""
    if unit == "working_days":
        return add_working_days(anchor_done, amount)
    if unit == "months":
        return anchor_done + relativedelta(months=amount)
    return anchor_done + dt.timedelta(days=amount)
