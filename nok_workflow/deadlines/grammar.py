"""The Russian deadline grammar of НОК plans: a wording plus the plan period → occurrences.

Pure: no I/O, no clock. Every rule (deadlines/rules.py) is a full match over the normalised
wording (deadlines/vocabulary.py), so a wording with anything left over is never
half-understood: it is reported with the words that were not understood, not guessed. What is
uncertain is a warning; what is certainly wrong — an impossible date, a year more than a year
outside the plan, a range that ends before it starts — is an error, and nothing is scheduled
from it.
"""

from __future__ import annotations

import datetime as dt
import re

from dateutil.relativedelta import relativedelta

from nok_workflow.deadlines.context import (
    AFTER_PERIOD_WORKING_DAYS,
    YEARS_OF_GRACE,
    Context,
    PlanPeriod,
    nearest_century,
    recurrence,
    year_problem,
)
from nok_workflow.deadlines.model import Interpretation, RelativeRule
from nok_workflow.deadlines.rules import RULES
from nok_workflow.deadlines.vocabulary import (
    MONTH,
    NUMBER,
    normalise,
    number,
    unknown_words,
)
from nok_workflow.deadlines.workdays import add_working_days

__all__ = [
    "AFTER_PERIOD_WORKING_DAYS", "MONTH", "YEARS_OF_GRACE", "PlanPeriod", "interpret", "nearest_century",
    "normalise", "recurrence", "relative_due", "relative_rule", "year_problem",
]  # fmt: skip

# Wordings that say on purpose that there is no date of their own.
_UNSCHEDULED = re.compile(
    r"(?:согласно|в соответствии с|по)\s+(?:плану|графику|планам|утвержденному)\b.*"
    r"|по мере (?:необходимости|поступления|готовности).*|по согласованию.*|по запросу.*"
    r"|по отдельному (?:плану|графику).*|в установленные сроки.*|по приказу.*"
)
_P_RELATIVE = re.compile(
    r"(?:в течение|не позднее(?: чем через)?|не позже(?: чем через)?|через|до истечения|до)?"  # «в срок до» is «до» once normalised
    r"\s*(?:" + NUMBER + r"\s*)?(?:-?х\s*)?(?P<unit>рабоч\w*\s+(?:дн\w*|день)|календарн\w*\s+(?:дн\w*|день)"
    r"|дн\w*|день|недел\w*|месяц\w*)"
    r"\s+(?:со дня|с даты|с момента|после|от даты|с)\s+(?P<event>.+)"
)


def relative_rule(s: str) -> RelativeRule | None:
    """The offset of a wording relative to another event, if the wording is one."""
    m = _P_RELATIVE.fullmatch(s)
    if not m:
        return None
    amount = number(m["n"]) if m["n"] else 1
    unit_word = m["unit"]
    if unit_word.startswith("рабоч"):
        return RelativeRule(amount, "working_days", event=m["event"])
    if unit_word.startswith("недел"):
        return RelativeRule(amount * 7, "days", event=m["event"])
    if unit_word.startswith("месяц"):
        return RelativeRule(amount, "months", event=m["event"])
    return RelativeRule(amount, "days", event=m["event"])


def interpret(
    text: str | None,
    period: PlanPeriod,
    *,
    after: str | None = None,
    after_period_days: int = AFTER_PERIOD_WORKING_DAYS,
) -> Interpretation:
    """Interpret a deadline wording within a plan period. Never raises on any string.

    ``after_period_days``: working days after a period that «по итогам квартала» allows
    (the plan's ``after_period_working_days``).
    """
    original = (text or "").strip()
    s = normalise(original)
    ctx = Context(original, period, after_period_days)
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
    for pattern, read in RULES:
        if (m := pattern.fullmatch(s)) and (result := read(m, ctx)) is not None:
            return result
        ctx = Context(original, period, after_period_days)  # drop what a failed rule gathered
    ctx.warnings.append(_not_understood(original, s, period))
    return ctx.result("unscheduled")


# Where one wording holds several deadlines: «20-25 января, 10-20 июня», «30.11.2007 01.12.2007»,
# «Декабрь 2020г. Февраль 2021г.».
_SEVERAL = re.compile(r",\s*|;\s*|\s+и\s+|(?<=\d)\s+(?=\d{1,2}\.\d)|(?<=\d{4})\s+(?=[а-я])")


def _not_understood(original: str, s: str, period: PlanPeriod) -> str:
    parts = [p for p in _SEVERAL.split(s) if p]
    if len(parts) > 1 and all((r := interpret(p, period)).occurrences or r.errors for p in parts):
        listed = ", ".join(f"«{p}»" for p in parts)
        return (f"не удалось распознать срок «{original}»: в нём несколько сроков ({listed}) — "
                f"разделите пункт по срокам; дата не назначена")
    unknown = unknown_words(original)
    if unknown:
        what = "непонятно: " + ", ".join(f"«{w}»" for w in unknown[:5]) + ("…" if len(unknown) > 5 else "")
    else:
        what = "слова знакомы, но такое их сочетание грамматике неизвестно"
    return f"не удалось распознать срок «{original}» ({what}): дата не назначена"


def relative_due(amount: int, unit: str, anchor_done: dt.date) -> dt.date:
    """The due date of a relative deadline once its anchor item is done."""
    if unit == "working_days":
        return add_working_days(anchor_done, amount)
    if unit == "months":
        return anchor_done + relativedelta(months=amount)
    return anchor_done + dt.timedelta(days=amount)
