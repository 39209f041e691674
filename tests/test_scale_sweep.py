"""The sweep reads overdue obligations only where their level can differ from the cached one:
the due-date cuts it queries by must agree with `status_of` on every due date."""

from __future__ import annotations

import datetime as dt

import pytest

from nok_workflow.policy import Level, Policy
from nok_workflow.services.jobs.sweep import _cuts
from nok_workflow.status import ObligationFact, status_of


@pytest.mark.parametrize("working_days", [False, True])
@pytest.mark.parametrize("today", [dt.date(2025, 3, 11), dt.date(2025, 1, 9), dt.date(2025, 5, 12)])
def test_cuts_agree_with_status_levels(working_days: bool, today: dt.date) -> None:
    policy = Policy(reminder_days=(7, 3, 1), reminder_working_days=False, hour=9,
                    escalation_working_days=working_days,
                    levels=(Level(0, "owners"), Level(3, "escalates_to"), Level(10, "coordinator")))
    cuts = _cuts(today, tuple(lv.after_days for lv in policy.levels), working_days)
    assert len(cuts) == 3
    for back in range(1, 60):
        due = today - dt.timedelta(days=back)
        level = status_of(ObligationFact(None, due), None, today, policy).level
        assert level == sum(due <= cuts[f"cut{k}"] for k in (1, 2, 3)), due
