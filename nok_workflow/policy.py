"""Reminder and escalation policy of an item: its overrides over the plan's, over defaults."""

from __future__ import annotations

from dataclasses import dataclass

from nok_workflow.plan.schema import (
    DEFAULT_ESCALATION,
    DEFAULT_REMINDERS,
    EscalationPolicy,
    Item,
    Plan,
    ReminderPolicy,
)


@dataclass(frozen=True)
class Level:
    after_days: int
    to: str


@dataclass(frozen=True)
class Policy:
    reminder_days: tuple[int, ...]
    reminder_working_days: bool
    hour: int
    escalation_working_days: bool
    levels: tuple[Level, ...]
    calendar_alarms: bool = False  # calendar feeds carry a VALARM per reminder

    @property
    def due_soon_days(self) -> int:
        """An obligation is "due soon" from its first reminder on."""
        return max(self.reminder_days, default=0)


def _pick(*values):
    return next(v for v in values if v is not None)


def resolve(plan: Plan, item: Item | None = None) -> Policy:
    chain_r: list[ReminderPolicy] = [p for p in (item.reminders if item else None, plan.reminders,
                                                  DEFAULT_REMINDERS) if p is not None]
    chain_e: list[EscalationPolicy] = [p for p in (item.escalation if item else None, plan.escalation,
                                                    DEFAULT_ESCALATION) if p is not None]
    levels = _pick(*(p.levels for p in chain_e))
    return Policy(
        reminder_days=tuple(sorted(set(_pick(*(p.days_before for p in chain_r))), reverse=True)),
        reminder_working_days=_pick(*(p.working_days for p in chain_r)),
        hour=_pick(*(p.hour for p in chain_r)),
        calendar_alarms=_pick(*(p.calendar for p in chain_r)),
        escalation_working_days=_pick(*(p.working_days for p in chain_e)),
        levels=tuple(Level(lv.after_days, lv.to) for lv in sorted(levels, key=lambda x: x.after_days)),
    )
