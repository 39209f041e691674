"""Status of an obligation: a pure function of (obligation, its evidence, today, policy).

No I/O and no clock: "today" is the plan's local date, given by the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from nok_workflow.deadlines.workdays import is_working_day
from nok_workflow.policy import Policy

Status = Literal["upcoming", "open", "due_soon", "overdue", "escalated",
                 "done", "done_late", "cancelled", "waived"]
CLOSED: frozenset[str] = frozenset({"done", "done_late", "cancelled", "waived"})

LABELS = {
    "upcoming": "ещё не начато", "open": "открыто", "due_soon": "срок скоро",
    "overdue": "просрочено", "escalated": "эскалировано", "done": "выполнено",
    "done_late": "выполнено с опозданием", "cancelled": "отменено", "waived": "снято",
}


@dataclass(frozen=True)
class EvidenceFact:
    id: int
    document_date: dt.date
    submitted_at: dt.datetime
    review: str  # pending | accepted | rejected


@dataclass(frozen=True)
class ObligationFact:
    opens: dt.date | None
    due: dt.date | None
    state: str = "active"  # active | cancelled | waived


@dataclass(frozen=True)
class StatusResult:
    status: Status
    level: int = 0  # escalation level reached (0: none)
    days: int | None = None  # days left (>= 0) or days overdue (< 0), calendar days


def completion(evidence: Iterable[EvidenceFact], review_required: bool) -> EvidenceFact | None:
    """The evidence that closes the obligation, if any: submitted evidence counts unless the
    plan requires review (then only accepted); a rejection never counts. The earliest
    document date wins: a protocol signed on 17.09 and uploaded on 25.09 counts on 17.09."""
    counted = [e for e in evidence
               if e.review == "accepted" or (e.review == "pending" and not review_required)]
    return min(counted, key=lambda e: (e.document_date, e.submitted_at, e.id), default=None)


def days_late(due: dt.date, today: dt.date, working_days: bool) -> int:
    if not working_days:
        return (today - due).days
    count, day = 0, due
    while day < today:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


def status_of(
    obligation: ObligationFact, completed_on: dt.date | None, today: dt.date, policy: Policy
) -> StatusResult:
    if obligation.state == "cancelled":
        return StatusResult("cancelled")
    if obligation.state == "waived":
        return StatusResult("waived")
    due = obligation.due
    if completed_on is not None:
        late = due is not None and completed_on > due
        return StatusResult("done_late" if late else "done", days=None)
    if due is None:  # unscheduled (opens at the plan start), or relative awaiting its anchor
        started = obligation.opens is not None and today >= obligation.opens
        return StatusResult("open" if started else "upcoming")
    left = (due - today).days
    if left >= 0:
        if obligation.opens is not None and today < obligation.opens:
            return StatusResult("upcoming", days=left)
        if left <= policy.due_soon_days:
            return StatusResult("due_soon", days=left)
        return StatusResult("open", days=left)
    late = days_late(due, today, policy.escalation_working_days)
    level = sum(1 for lv in policy.levels if late >= lv.after_days)
    return StatusResult("escalated" if level else "overdue", level=level, days=left)


def status_with_evidence(
    obligation: ObligationFact, evidence: Iterable[EvidenceFact], today: dt.date, policy: Policy,
    review_required: bool,
) -> StatusResult:
    closing = completion(evidence, review_required)
    return status_of(obligation, closing.document_date if closing else None, today, policy)
