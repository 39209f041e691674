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


def escalations_owed(policy: Policy, level: int) -> tuple[tuple[int, str], ...]:
    """The escalation messages an obligation at ``level`` owes: (level, to whom) for every
    level reached — owners, escalates_to, coordinator or an id — and the owners at level 1
    whatever the policy's levels say.

    Escalation adds the superior; it never drops the owner. An obligation first seen at
    level 2 (a plan loaded late, a server down for a week) owes its owners the level they
    missed. The outbox keys each message by (obligation, level, person), so a message
    already queued on an earlier day is not queued again: the caller may ask every day.
    """
    if level < 1:
        return ()
    owed = [(1, "owners")] + [(k, lv.to) for k, lv in enumerate(policy.levels[:level], start=1)]
    return tuple(dict.fromkeys(owed))
