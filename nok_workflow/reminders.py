"""Reminder and escalation policy: which message an obligation owes today (pure).

A reminder N days before the due date goes out on that day — in working days when the
policy says so — and on the working day before when that day is not a working day. When a
sweep missed days, only the most urgent reminder still ahead of the due date is owed: a
person is not told "14 days left" three days before the deadline.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from nok_workflow.deadlines.workdays import is_working_day, working_day_on_or_before
from nok_workflow.policy import Policy


# Pure, and a region's obligations share a few hundred due dates: each is worked out once.
@lru_cache(maxsize=8192)
def send_day(due: dt.date, days_before: int, working_days: bool) -> dt.date:
    if working_days:
        day, left = due, days_before
        while left > 0:
            day -= dt.timedelta(days=1)
            left -= is_working_day(day)
    else:
        day = due - dt.timedelta(days=days_before)
    return working_day_on_or_before(day)


def reminder_due(due: dt.date | None, today: dt.date, policy: Policy) -> int | None:
    """The reminder (days before due) owed today, or None."""
    if due is None or today > due:
        return None
    owed = [d for d in policy.reminder_days if send_day(due, d, policy.reminder_working_days) <= today]
    return min(owed) if owed else None


def escalation_targets(policy: Policy, level: int) -> str | None:
    """Whom level ``level`` (1-based) goes to: owners, escalates_to, coordinator or an id."""
    if 1 <= level <= len(policy.levels):
        return policy.levels[level - 1].to
    return None
