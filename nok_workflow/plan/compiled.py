"""A validated plan with its items keyed and its deadlines interpreted.

Items are numbered within their section in some plans (`1`, `2` under `2. Проведение НОК`)
and plan-wide in others (`1.1`, `1.2`); the key makes both plan-wide unique: the section
number is prefixed unless the item's number already carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nok_workflow.deadlines.grammar import (
    AFTER_PERIOD_WORKING_DAYS,
    PlanPeriod,
    interpret,
    recurrence,
    year_problem,
)
from nok_workflow.deadlines.model import Interpretation, Occurrence, RelativeRule
from nok_workflow.plan.ids import ALL_OF_GROUP  # noqa: F401 - also named from here
from nok_workflow.plan.schema import Item, Plan, Section, StructuredDeadline

def clean_number(number: str | None) -> str:
    return "".join((number or "").split()).strip(".")


def item_key(section: Section, item: Item) -> str:
    number = clean_number(item.number)
    prefix = clean_number(section.number)
    if not prefix or number.startswith(prefix + "."):
        return number
    return f"{prefix}.{number}"


def deadline_text(item: Item) -> str:
    """The deadline wording as written in the document."""
    if isinstance(item.deadline, str):
        return item.deadline
    return item.deadline.text or ""


def interpret_deadline(
    item: Item, period: PlanPeriod, after_key: str | None, after_period_days: int = AFTER_PERIOD_WORKING_DAYS
) -> Interpretation:
    """The grammar for wordings; structured deadlines say exactly what they mean."""
    deadline = item.deadline
    if isinstance(deadline, str):
        return interpret(deadline, period, after_period_days=after_period_days)
    return _interpret_structured(deadline, period, after_key, after_period_days)


def _interpret_structured(
    d: StructuredDeadline, period: PlanPeriod, after_key: str | None, after_period_days: int
) -> Interpretation:
    text = d.text or ""
    if d.unscheduled:
        return Interpretation("unscheduled", text=text)
    if d.due is not None:
        warnings, errors = _year_problems(d, period)
        if errors:
            return Interpretation("unscheduled", warnings=warnings, errors=errors, text=text)
        opens = d.opens or (period.start if period.start <= d.due else d.due.replace(month=1, day=1))
        occ = Occurrence(opens, d.due, d.due.isoformat() if d.opens is None else
                         f"{opens.isoformat()}/{d.due.isoformat()}")
        return Interpretation("once" if d.opens is None else "window", (occ,), warnings=warnings, text=text)
    if d.every is not None:
        return Interpretation("recurring", tuple(recurrence(d.every, period, d.due_day)), text=text)
    if d.after is not None:
        if d.offset is not None:
            o = d.offset
            unit, amount = next((u, v) for u, v in (("days", o.days), ("working_days", o.working_days),
                                                    ("months", o.months)) if v is not None)
            return Interpretation("relative", relative=RelativeRule(amount, unit, after_key), text=text)
        parsed = interpret(text, period, after=after_key, after_period_days=after_period_days)
        if parsed.kind == "relative":
            return parsed
        return Interpretation(
            "relative",
            relative=None,
            warnings=(f"срок «{text}» с after: сдвиг не распознан — задайте offset",),
            text=text,
        )
    return interpret(text, period, after_period_days=after_period_days)


def _year_problems(d: StructuredDeadline, period: PlanPeriod) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The grammar's rule for years outside the plan, applied to structured dates."""
    warnings, errors = [], []
    for name, day in (("opens", d.opens), ("due", d.due)):
        if day is not None:
            warning, error = year_problem(day.year, period, f"{name}: {day.isoformat()}")
            warnings += [warning] if warning else []
            errors += [error] if error else []
    return tuple(warnings), tuple(errors)


@dataclass(frozen=True)
class CompiledItem:
    key: str
    section: Section
    item: Item
    interpretation: Interpretation

    @property
    def occurrences(self) -> tuple[Occurrence, ...]:
        return self.interpretation.occurrences


@dataclass(frozen=True)
class CompiledPlan:
    plan: Plan
    items: tuple[CompiledItem, ...]

    @property
    def period(self) -> PlanPeriod:
        return PlanPeriod(self.plan.period.start, self.plan.period.end)

    def owner_names(self, item: Item) -> list[str]:
        names = {e.id: e.name for e in self.plan.directory}
        names.update({ALL_OF_GROUP + g.id: g.name for g in self.plan.groups})
        return [names.get(o, o) for o in item.owners]
