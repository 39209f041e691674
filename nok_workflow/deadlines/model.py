"""What a deadline wording means: kinds, occurrences and relative rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["once", "window", "recurring", "ongoing", "relative", "unscheduled"]
OffsetUnit = Literal["days", "working_days", "months"]


@dataclass(frozen=True)
class Occurrence:
    """One obligation-sized slice of a deadline: work may start on ``opens``, is due on ``due``."""

    opens: dt.date
    due: dt.date
    period: str

    def as_json(self) -> dict[str, str]:
        return {"opens": self.opens.isoformat(), "due": self.due.isoformat(), "period": self.period}


@dataclass(frozen=True)
class RelativeRule:
    """Due ``amount`` units after the completion of item ``after`` (unknown until it is done)."""

    amount: int
    unit: OffsetUnit
    after: str | None = None
    event: str | None = None  # the wording's anchor event, e.g. «получения отчета оператора»

    def as_json(self) -> dict[str, object]:
        return {"amount": self.amount, "unit": self.unit, "after": self.after, "event": self.event}


@dataclass(frozen=True)
class Interpretation:
    kind: Kind
    occurrences: tuple[Occurrence, ...] = ()
    warnings: tuple[str, ...] = ()
    relative: RelativeRule | None = None
    # What is certainly wrong (an impossible date, a year far outside the plan, a reversed
    # range): a plan with any of these is refused, and nothing is scheduled from the wording.
    errors: tuple[str, ...] = ()
    text: str = field(default="", compare=False)
    # How a convention was applied, for the coordinator who checks the reading (not a doubt):
    # «по итогам квартала: 10 рабочих дней после его окончания (after_period_working_days)».
    notes: tuple[str, ...] = ()

    @property
    def invalid(self) -> bool:
        return bool(self.errors)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "text": self.text,
            "kind": self.kind,
            "occurrences": [o.as_json() for o in self.occurrences],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "notes": list(self.notes),
        }
        if self.relative is not None:
            data["relative"] = self.relative.as_json()
        return data
