"""Tests for the status of an obligation (issue #4) and the policy that drives it.

The status is a pure function of (obligation, its evidence, today, policy). Every expected
value below was worked out by hand from the issue's rules and the Russian production
calendar, never by calling the code under test:

    upcoming -> open -> due_soon -> overdue -> escalated (level n)
    and the closed ones: done / done_late / cancelled / waived.

The sections are:
1. the plan and the policies used throughout (``resolve``: item > plan > defaults);
2. before the due date: upcoming, open, due_soon, unscheduled and relative obligations;
3. after the due date: overdue and escalation in working days (incl. the New Year holidays);
4. escalation in calendar days, and an item with its own reminders and escalation;
5. closed obligations: done, done_late, cancelled, waived;
6. evidence: review, rejection, the earliest document date;
7. Hypothesis properties.

Calendar facts used below (Russian production calendar, 2024–2025):
* Sat 2024-11-02 was a transferred WORKING Saturday; Sun 03.11 and Mon 04.11 were days off.
* In late November / December 2024 there are no holidays: Mon–Fri work, Sat/Sun off.
* Sat 2024-12-28 was a WORKING Saturday; Sun 29.12 and 30.12.2024–08.01.2025 were days off;
  Thu 2025-01-09 was the first working day of 2025.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nok_workflow.plan.schema import Item, Plan
from nok_workflow.policy import Level, Policy, resolve
from nok_workflow.reminders import escalations_owed
from nok_workflow.status import (
    EvidenceFact,
    ObligationFact,
    StatusResult,
    completion,
    status_of,
    status_with_evidence,
)

D = dt.date

STATUSES = {"upcoming", "open", "due_soon", "overdue", "escalated",
            "done", "done_late", "cancelled", "waived"}


# --- 1. the plan and its policies ------------------------------------------------------

def make_plan(**overrides) -> Plan:
    """A small valid plan: a directory, one section, an ordinary and a customised item."""
    data = {
        "id": "test-plan",
        "title": "План по итогам независимой оценки качества",
        "period": 2024,
        "coordinator": "nok",
        "directory": [
            {"id": "nok", "name": "Координатор НОК"},
            {"id": "uo", "name": "Управление образования", "escalates_to": "nok"},
        ],
        "sections": [{
            "number": "I",
            "title": "Открытость и доступность информации",
            "items": [
                {"number": "1", "id": "ordinary", "title": "Обновить сайт",
                 "deadline": {"due": "2024-11-29"}, "owners": ["uo"]},
                {"number": "2", "id": "custom", "title": "Провести опрос",
                 "deadline": {"due": "2024-11-29"}, "owners": ["uo"],
                 "reminders": {"days_before": [5]},
                 "escalation": {"working_days": False,
                                "levels": [{"after_days": 2, "to": "coordinator"}]}},
            ],
        }],
    }
    data.update(overrides)
    return Plan.model_validate(data)


PLAN = make_plan()
ORDINARY_ITEM, CUSTOM_ITEM = PLAN.sections[0].items

# The defaults: reminders 14, 3, 1, 0 days before at 9:00 in calendar days;
# escalation +1 / +5 / +10 working days.
DEFAULT = resolve(PLAN)
# The same defaults, but the plan counts escalation in calendar days.
CALENDAR = resolve(make_plan(escalation={"working_days": False}))
# The customised item: a single reminder 5 days before, one level 2 calendar days late.
CUSTOM = resolve(PLAN, CUSTOM_ITEM)

DEFAULT_LEVELS = (Level(1, "owners"), Level(5, "escalates_to"), Level(10, "coordinator"))


def test_defaults_when_neither_plan_nor_item_say_anything():
    assert DEFAULT == Policy(reminder_days=(14, 3, 1, 0), reminder_working_days=False, hour=9,
                             escalation_working_days=True, levels=DEFAULT_LEVELS)
    assert DEFAULT.due_soon_days == 14
    # An item without overrides gets exactly the plan's policy.
    assert resolve(PLAN, ORDINARY_ITEM) == DEFAULT


def test_item_overrides_replace_only_what_they_set():
    assert CUSTOM == Policy(reminder_days=(5,), reminder_working_days=False, hour=9,
                            escalation_working_days=False, levels=(Level(2, "coordinator"),))
    assert CUSTOM.due_soon_days == 5


def test_plan_level_calendar_days_keep_the_default_levels():
    assert CALENDAR.escalation_working_days is False
    assert CALENDAR.levels == DEFAULT_LEVELS
    assert CALENDAR.reminder_days == (14, 3, 1, 0)


def test_item_over_plan_over_defaults_field_by_field():
    plan = make_plan(
        reminders={"days_before": [7, 1], "hour": 8},
        escalation={"levels": [{"after_days": 3, "to": "owners"}]},
    )
    days_item = Item.model_validate({"number": "3", "title": "Пункт",
                                     "reminders": {"days_before": [5, 1, 5]}})
    working_item = Item.model_validate({"number": "4", "title": "Пункт",
                                        "escalation": {"working_days": False}})
    # The plan's own settings over the defaults.
    assert resolve(plan) == Policy(reminder_days=(7, 1), reminder_working_days=False, hour=8,
                                   escalation_working_days=True, levels=(Level(3, "owners"),))
    # The item sets only the days (duplicates dropped, latest reminder last); the hour is
    # still the plan's 8:00 and the escalation is still the plan's.
    assert resolve(plan, days_item) == Policy(reminder_days=(5, 1), reminder_working_days=False,
                                              hour=8, escalation_working_days=True,
                                              levels=(Level(3, "owners"),))
    # The item sets only calendar days for escalation; the plan's single level stays.
    assert resolve(plan, working_item) == Policy(reminder_days=(7, 1), reminder_working_days=False,
                                                 hour=8, escalation_working_days=False,
                                                 levels=(Level(3, "owners"),))


def test_levels_are_ordered_by_after_days():
    plan = make_plan(escalation={"levels": [{"after_days": 10, "to": "coordinator"},
                                            {"after_days": 2, "to": "owners"}]})
    assert resolve(plan).levels == (Level(2, "owners"), Level(10, "coordinator"))


# --- 2. before the due date -------------------------------------------------------------

# Due Friday 2024-11-29 throughout sections 2–4 unless stated otherwise.
DUE = D(2024, 11, 29)
BY_DUE = ObligationFact(opens=None, due=DUE)
# A quarter window: opens 01.10.2024, due 31.12.2024.
Q4 = ObligationFact(opens=D(2024, 10, 1), due=D(2024, 12, 31))


def status(ob: ObligationFact, today: dt.date, policy: Policy = DEFAULT,
           completed_on: dt.date | None = None) -> StatusResult:
    return status_of(ob, completed_on, today, policy)


@pytest.mark.parametrize(("today", "expected"), [
    # 30.09 -> 31.12: 31 (Oct) + 30 (Nov) + 31 (Dec) = 92 days; the window has not opened.
    (D(2024, 9, 30), StatusResult("upcoming", days=92)),
    # The day it opens: open, 91 days left.
    (D(2024, 10, 1), StatusResult("open", days=91)),
    # 15 days left: still before the first reminder (14 days).
    (D(2024, 12, 16), StatusResult("open", days=15)),
    # 14 days left: the first reminder, due soon from here on.
    (D(2024, 12, 17), StatusResult("due_soon", days=14)),
    (D(2024, 12, 30), StatusResult("due_soon", days=1)),
    # The due day itself: 0 days left, still due soon (not overdue).
    (D(2024, 12, 31), StatusResult("due_soon", days=0)),
])
def test_a_window_before_its_due_date(today, expected):
    assert status(Q4, today) == expected


def test_before_the_window_opens_is_upcoming_even_when_the_due_date_is_near():
    # A five-day window 25.11–29.11: on 20.11 only 9 days are left (within 14), but the
    # window has not opened, so it is upcoming, not due soon.
    short = ObligationFact(opens=D(2024, 11, 25), due=DUE)
    assert status(short, D(2024, 11, 20)) == StatusResult("upcoming", days=9)
    assert status(short, D(2024, 11, 24)) == StatusResult("upcoming", days=5)
    assert status(short, D(2024, 11, 25)) == StatusResult("due_soon", days=4)


def test_a_deadline_without_a_window_is_open_until_the_first_reminder():
    # «до 29.11.2024» has no opening date: open long before, due soon from 15.11 (14 days).
    assert status(BY_DUE, D(2024, 1, 10)) == StatusResult("open", days=324)
    assert status(BY_DUE, D(2024, 11, 14)) == StatusResult("open", days=15)
    assert status(BY_DUE, D(2024, 11, 15)) == StatusResult("due_soon", days=14)
    assert status(BY_DUE, DUE) == StatusResult("due_soon", days=0)


@pytest.mark.parametrize("today", [D(2024, 1, 1), D(2024, 11, 29), D(2030, 6, 1)])
def test_a_relative_deadline_awaiting_its_anchor_is_upcoming(today):
    # «в течение 10 дней после п. 1»: until item 1 is done there are no dates at all.
    awaiting = ObligationFact(opens=None, due=None)
    assert status(awaiting, today) == StatusResult("upcoming")


def test_an_unscheduled_obligation_is_open_once_opened_and_never_overdue():
    unscheduled = ObligationFact(opens=D(2024, 9, 17), due=None)
    assert status(unscheduled, D(2024, 9, 16)) == StatusResult("upcoming")
    assert status(unscheduled, D(2024, 9, 17)) == StatusResult("open")
    # Years later it is still simply open: without a due date nothing is late.
    assert status(unscheduled, D(2027, 3, 1)) == StatusResult("open")


# --- 3. after the due date, escalation in working days ----------------------------------

@pytest.mark.parametrize(("today", "expected"), [
    # Sat 30.11: a day off, 0 working days late -> overdue, not yet escalated.
    (D(2024, 11, 30), StatusResult("overdue", level=0, days=-1)),
    # Sun 01.12: still 0 working days late.
    (D(2024, 12, 1), StatusResult("overdue", level=0, days=-2)),
    # Mon 02.12: 1 working day late -> level 1 (owners).
    (D(2024, 12, 2), StatusResult("escalated", level=1, days=-3)),
    # Thu 05.12: Mon–Thu = 4 working days -> still level 1.
    (D(2024, 12, 5), StatusResult("escalated", level=1, days=-6)),
    # Fri 06.12: 5 working days -> level 2 (escalates_to).
    (D(2024, 12, 6), StatusResult("escalated", level=2, days=-7)),
    # Sun 08.12: the weekend adds nothing, still 5 working days.
    (D(2024, 12, 8), StatusResult("escalated", level=2, days=-9)),
    # Thu 12.12: 5 + Mon–Thu = 9 working days -> level 2.
    (D(2024, 12, 12), StatusResult("escalated", level=2, days=-13)),
    # Fri 13.12: 10 working days -> level 3 (coordinator).
    (D(2024, 12, 13), StatusResult("escalated", level=3, days=-14)),
    # Long after: still level 3, there is no level 4.
    (D(2025, 3, 1), StatusResult("escalated", level=3, days=-92)),
])
def test_escalation_counts_working_days_late(today, expected):
    assert status(BY_DUE, today) == expected


def test_a_working_saturday_counts_as_a_working_day_late():
    # Due Fri 2024-11-01; Sat 02.11 was a transferred working Saturday, so the very next day
    # is already 1 working day late. Sun 03.11 and Mon 04.11 (holiday) add nothing;
    # Tue 05.11 is the 2nd working day late.
    due_fri = ObligationFact(opens=None, due=D(2024, 11, 1))
    assert status(due_fri, D(2024, 11, 2)) == StatusResult("escalated", level=1, days=-1)
    assert status(due_fri, D(2024, 11, 4)) == StatusResult("escalated", level=1, days=-3)
    # 02.11, 05.11, 06.11, 07.11, 08.11 -> 5 working days on Fri 08.11 -> level 2.
    assert status(due_fri, D(2024, 11, 7)) == StatusResult("escalated", level=1, days=-6)
    assert status(due_fri, D(2024, 11, 8)) == StatusResult("escalated", level=2, days=-7)


@pytest.mark.parametrize(("today", "expected"), [
    # Due Fri 2024-12-27. Sat 28.12 was a working Saturday -> 1 working day late at once.
    (D(2024, 12, 28), StatusResult("escalated", level=1, days=-1)),
    # 29.12.2024–08.01.2025 are all days off: still 1 working day late on 08.01.
    (D(2024, 12, 31), StatusResult("escalated", level=1, days=-4)),
    (D(2025, 1, 8), StatusResult("escalated", level=1, days=-12)),
    # Thu 09.01 = 2, Fri 10.01 = 3, Mon 13.01 = 4 working days -> level 1.
    (D(2025, 1, 13), StatusResult("escalated", level=1, days=-17)),
    # Tue 14.01 = 5 working days -> level 2.
    (D(2025, 1, 14), StatusResult("escalated", level=2, days=-18)),
    # Wed 15 = 6, Thu 16 = 7, Fri 17 = 8, Mon 20 = 9 -> level 2; Tue 21.01 = 10 -> level 3.
    (D(2025, 1, 20), StatusResult("escalated", level=2, days=-24)),
    (D(2025, 1, 21), StatusResult("escalated", level=3, days=-25)),
])
def test_escalation_across_the_new_year_holidays(today, expected):
    due_before_new_year = ObligationFact(opens=D(2024, 10, 1), due=D(2024, 12, 27))
    assert status(due_before_new_year, today) == expected


def test_a_due_date_on_a_day_off():
    # Due Sun 2024-12-01 (e.g. «до 1 декабря»). Mon 02.12 is 1 working day late.
    on_sunday = ObligationFact(opens=None, due=D(2024, 12, 1))
    assert status(on_sunday, D(2024, 12, 1)) == StatusResult("due_soon", days=0)
    assert status(on_sunday, D(2024, 12, 2)) == StatusResult("escalated", level=1, days=-1)
    # Due Sat 2024-11-30; Sun 01.12 is a day off -> 0 working days late.
    on_saturday = ObligationFact(opens=None, due=D(2024, 11, 30))
    assert status(on_saturday, D(2024, 12, 1)) == StatusResult("overdue", level=0, days=-1)


# --- 4. escalation in calendar days; a customised item ----------------------------------

@pytest.mark.parametrize(("today", "expected"), [
    # Calendar days: Sat 30.11 is already 1 day late -> level 1, weekend or not.
    (D(2024, 11, 30), StatusResult("escalated", level=1, days=-1)),
    # Tue 03.12: 4 days late -> level 1; Wed 04.12: 5 days -> level 2.
    (D(2024, 12, 3), StatusResult("escalated", level=1, days=-4)),
    (D(2024, 12, 4), StatusResult("escalated", level=2, days=-5)),
    # Sun 08.12: 9 days -> level 2; Mon 09.12: 10 days -> level 3.
    (D(2024, 12, 8), StatusResult("escalated", level=2, days=-9)),
    (D(2024, 12, 9), StatusResult("escalated", level=3, days=-10)),
])
def test_escalation_in_calendar_days(today, expected):
    assert status(BY_DUE, today, CALENDAR) == expected


def test_calendar_days_across_the_new_year_holidays():
    # Due 27.12.2024: on 06.01.2025 it is 10 calendar days late (level 3) although only one
    # working day (Sat 28.12) has passed.
    due_before_new_year = ObligationFact(opens=None, due=D(2024, 12, 27))
    assert status(due_before_new_year, D(2025, 1, 6), CALENDAR) == StatusResult(
        "escalated", level=3, days=-10)
    assert status(due_before_new_year, D(2025, 1, 6), DEFAULT) == StatusResult(
        "escalated", level=1, days=-10)


@pytest.mark.parametrize(("today", "expected"), [
    # The only reminder is 5 days before: 6 days left (23.11) is open, 5 left (24.11) due soon.
    (D(2024, 11, 15), StatusResult("open", days=14)),
    (D(2024, 11, 23), StatusResult("open", days=6)),
    (D(2024, 11, 24), StatusResult("due_soon", days=5)),
    (DUE, StatusResult("due_soon", days=0)),
    # One level, 2 calendar days late: Sat 30.11 (1 day) overdue, Sun 01.12 (2 days) escalated.
    (D(2024, 11, 30), StatusResult("overdue", level=0, days=-1)),
    (D(2024, 12, 1), StatusResult("escalated", level=1, days=-2)),
    # There is only one level, however late.
    (D(2024, 12, 31), StatusResult("escalated", level=1, days=-32)),
])
def test_an_item_with_its_own_reminders_and_escalation(today, expected):
    assert status(BY_DUE, today, CUSTOM) == expected


def test_the_same_day_differs_between_the_ordinary_and_the_custom_item():
    # 15.11 (14 days left) and Sun 01.12 (0 working / 2 calendar days late).
    ordinary, custom = resolve(PLAN, ORDINARY_ITEM), resolve(PLAN, CUSTOM_ITEM)
    assert status(BY_DUE, D(2024, 11, 15), ordinary).status == "due_soon"
    assert status(BY_DUE, D(2024, 11, 15), custom).status == "open"
    assert status(BY_DUE, D(2024, 12, 1), ordinary) == StatusResult("overdue", level=0, days=-2)
    assert status(BY_DUE, D(2024, 12, 1), custom) == StatusResult("escalated", level=1, days=-2)


# The schema allows ``after_days: 0`` (``ge=0``): a level reached as soon as the obligation
# is overdue. The level number is the count of levels whose after_days are reached.
ZERO_DAY = resolve(make_plan(escalation={"levels": [{"after_days": 0, "to": "owners"},
                                                    {"after_days": 5, "to": "coordinator"}]}))


def test_a_zero_day_level_is_reached_on_the_first_overdue_day():
    assert ZERO_DAY.levels == (Level(0, "owners"), Level(5, "coordinator"))
    # Sat 30.11: 0 working days late, and 0 >= 0 -> the first level is reached.
    assert status(BY_DUE, D(2024, 11, 30), ZERO_DAY) == StatusResult("escalated", level=1, days=-1)
    # The due day itself is not overdue, so no level yet.
    assert status(BY_DUE, DUE, ZERO_DAY) == StatusResult("due_soon", days=0)


def test_a_zero_day_level_counts_in_the_level_number():
    # Fri 06.12: 5 working days late -> both levels reached -> level 2 (the coordinator's),
    # so that level n names policy.levels[n - 1].
    assert status(BY_DUE, D(2024, 12, 6), ZERO_DAY) == StatusResult("escalated", level=2, days=-7)


# Whom an escalated obligation owes a message (reminders.escalations_owed): every level
# reached, each to its target, and the owners at level 1 whatever the levels say. A
# level's messages already queued on an earlier day are dropped by the outbox's keys.
@pytest.mark.parametrize(("policy", "level", "expected"), [
    (DEFAULT, 0, ()),
    (DEFAULT, 1, ((1, "owners"),)),
    # First seen at level 2 or 3: the owners' level is still owed, and the superior's.
    (DEFAULT, 2, ((1, "owners"), (2, "escalates_to"))),
    (DEFAULT, 3, ((1, "owners"), (2, "escalates_to"), (3, "coordinator"))),
    # A policy without an owners' level: the owners are told at level 1 with the coordinator.
    (CUSTOM, 1, ((1, "owners"), (1, "coordinator"))),
])
def test_escalation_adds_the_superior_and_never_drops_the_owner(policy, level, expected):
    assert escalations_owed(policy, level) == expected


# --- 5. closed obligations --------------------------------------------------------------

@pytest.mark.parametrize(("completed_on", "today", "expected"), [
    # Completed before the window opened: done.
    (D(2024, 9, 30), D(2024, 10, 15), "done"),
    # Completed on the due day: done (on or before due).
    (DUE, DUE, "done"),
    # Completed on time, looked at long after the due date: done, not escalated.
    (D(2024, 11, 20), D(2025, 2, 1), "done"),
    # Completed Sat 30.11, 0 working days late — still after the due date: done_late.
    (D(2024, 11, 30), D(2024, 12, 2), "done_late"),
    (D(2024, 12, 20), D(2024, 12, 20), "done_late"),
])
def test_completion_on_or_before_due_is_done_after_is_done_late(completed_on, today, expected):
    ob = ObligationFact(opens=D(2024, 10, 1), due=DUE)
    result = status(ob, today, completed_on=completed_on)
    assert result.status == expected
    assert result.level == 0


def test_completing_an_obligation_without_a_due_date_is_done():
    assert status(ObligationFact(D(2024, 9, 17), None), D(2025, 5, 1),
                  completed_on=D(2025, 4, 30)).status == "done"
    assert status(ObligationFact(None, None), D(2025, 5, 1),
                  completed_on=D(2025, 4, 30)).status == "done"


ACCEPTED_ON_TIME = EvidenceFact(1, D(2024, 11, 20), dt.datetime(2024, 11, 20, 10, 0), "accepted")


@pytest.mark.parametrize("state", ["cancelled", "waived"])
@pytest.mark.parametrize("today", [D(2024, 9, 1), DUE, D(2024, 12, 13), D(2025, 6, 1)])
def test_cancelled_and_waived_win_over_dates_and_evidence(state, today):
    ob = ObligationFact(opens=D(2024, 10, 1), due=DUE, state=state)
    assert status(ob, today) == StatusResult(state)
    for review_required in (False, True):
        assert status_with_evidence(ob, [ACCEPTED_ON_TIME], today, DEFAULT,
                                    review_required) == StatusResult(state)


# --- 6. evidence ------------------------------------------------------------------------

def ev(id_: int, document_date: dt.date, uploaded: dt.date, review: str = "pending") -> EvidenceFact:
    return EvidenceFact(id_, document_date, dt.datetime.combine(uploaded, dt.time(12, 0)), review)


# Due Fri 2024-09-20; looked at on Wed 2024-09-25 (3 working days late: 23, 24, 25.09).
SEPT = ObligationFact(opens=D(2024, 9, 1), due=D(2024, 9, 20))
SEPT_TODAY = D(2024, 9, 25)
SEPT_OPEN = StatusResult("escalated", level=1, days=-5)


def test_a_protocol_signed_before_the_due_date_and_uploaded_after_it_is_done():
    # Signed 17.09, uploaded 25.09: it counts on 17.09, so done, not done_late.
    protocol = ev(7, D(2024, 9, 17), D(2024, 9, 25))
    assert completion([protocol], review_required=False) == protocol
    assert status_with_evidence(SEPT, [protocol], SEPT_TODAY, DEFAULT, False).status == "done"


def test_a_document_signed_after_the_due_date_is_done_late():
    late = ev(8, D(2024, 9, 23), D(2024, 9, 23))
    assert status_with_evidence(SEPT, [late], SEPT_TODAY, DEFAULT, False).status == "done_late"


def test_the_earliest_document_date_wins_not_the_earliest_upload():
    uploaded_first = ev(1, D(2024, 9, 24), D(2024, 9, 24))  # signed late, uploaded first
    signed_first = ev(2, D(2024, 9, 18), D(2024, 9, 25))  # signed on time, uploaded later
    for order in ([uploaded_first, signed_first], [signed_first, uploaded_first]):
        assert completion(order, review_required=False) == signed_first
        assert status_with_evidence(SEPT, order, SEPT_TODAY, DEFAULT, False).status == "done"


def test_no_evidence_leaves_the_obligation_to_its_dates():
    assert completion([], review_required=False) is None
    assert completion([], review_required=True) is None
    assert status_with_evidence(SEPT, [], SEPT_TODAY, DEFAULT, False) == SEPT_OPEN


def test_evidence_may_be_any_iterable():
    protocol = ev(7, D(2024, 9, 17), D(2024, 9, 25))
    assert status_with_evidence(SEPT, (e for e in [protocol]), SEPT_TODAY, DEFAULT,
                                False).status == "done"


ON_TIME = D(2024, 9, 18)
LATE = D(2024, 9, 23)


@pytest.mark.parametrize(("evidence", "review_required", "expected", "closing_id"), [
    # Submitted, not reviewed: closes unless review is required.
    ([ev(1, ON_TIME, ON_TIME, "pending")], False, "done", 1),
    ([ev(1, ON_TIME, ON_TIME, "pending")], True, None, None),
    # Accepted: closes either way.
    ([ev(1, ON_TIME, ON_TIME, "accepted")], False, "done", 1),
    ([ev(1, ON_TIME, ON_TIME, "accepted")], True, "done", 1),
    # Rejected: never counts.
    ([ev(1, ON_TIME, ON_TIME, "rejected")], False, None, None),
    ([ev(1, ON_TIME, ON_TIME, "rejected")], True, None, None),
    # An early rejected document and a later pending one: the pending one counts (late)
    # unless review is required.
    ([ev(1, ON_TIME, ON_TIME, "rejected"), ev(2, LATE, LATE, "pending")], False, "done_late", 2),
    ([ev(1, ON_TIME, ON_TIME, "rejected"), ev(2, LATE, LATE, "pending")], True, None, None),
    # An early pending document and a later accepted one: without review the early one
    # wins (done); with review only the accepted, late one counts (done_late).
    ([ev(1, ON_TIME, ON_TIME, "pending"), ev(2, LATE, LATE, "accepted")], False, "done", 1),
    ([ev(1, ON_TIME, ON_TIME, "pending"), ev(2, LATE, LATE, "accepted")], True, "done_late", 2),
    # An early accepted and a later rejected one: the accepted one closes it on time.
    ([ev(1, LATE, LATE, "rejected"), ev(2, ON_TIME, LATE, "accepted")], True, "done", 2),
    # Only rejections, many of them: still not done.
    ([ev(1, ON_TIME, ON_TIME, "rejected"), ev(2, LATE, LATE, "rejected")], False, None, None),
])
def test_review_and_rejection(evidence, review_required, expected, closing_id):
    closing = completion(evidence, review_required)
    assert (closing.id if closing else None) == closing_id
    result = status_with_evidence(SEPT, evidence, SEPT_TODAY, DEFAULT, review_required)
    assert result == (SEPT_OPEN if expected is None else StatusResult(expected))


def test_an_uncounted_document_leaves_an_upcoming_obligation_upcoming():
    # Review required and only a pending document: the window (01.10–31.12) is still ahead.
    pending = ev(1, D(2024, 9, 10), D(2024, 9, 10), "pending")
    assert status_with_evidence(Q4, [pending], D(2024, 9, 15), DEFAULT, True) == StatusResult(
        "upcoming", days=107)  # 15.09 -> 31.12: 15 + 31 + 30 + 31 = 107


# --- 7. properties ------------------------------------------------------------------------

ORDER = {"upcoming": 0, "open": 1, "due_soon": 2, "overdue": 3, "escalated": 4}
POLICIES = st.sampled_from([DEFAULT, CALENDAR, CUSTOM])
dates = st.dates(min_value=D(2023, 1, 1), max_value=D(2026, 12, 31))
ANY_STATE = st.sampled_from(["active", "cancelled", "waived"])


@st.composite
def obligations(draw, states=ANY_STATE):
    kind = draw(st.sampled_from(["window", "by_due", "unscheduled", "relative"]))
    a, b = sorted([draw(dates), draw(dates)])
    opens, due = {"window": (a, b), "by_due": (None, b), "unscheduled": (a, None),
                  "relative": (None, None)}[kind]
    return ObligationFact(opens=opens, due=due, state=draw(states))


@st.composite
def evidence_lists(draw):
    facts = []
    for i in range(draw(st.integers(min_value=0, max_value=5))):
        uploaded = draw(st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2026, 12, 31)))
        facts.append(EvidenceFact(i + 1, draw(dates), uploaded,
                                  draw(st.sampled_from(["pending", "accepted", "rejected"]))))
    return facts


def counts(e: EvidenceFact, review_required: bool) -> bool:
    return e.review == "accepted" or (e.review == "pending" and not review_required)


@settings(max_examples=200, deadline=None)
@given(ob=obligations(), evidence=evidence_lists(), today=dates, policy=POLICIES,
       review_required=st.booleans())
def test_status_is_always_one_of_the_nine_and_done_iff_evidence_counts(
        ob, evidence, today, policy, review_required):
    result = status_with_evidence(ob, evidence, today, policy, review_required)
    assert result.status in STATUSES
    if ob.state != "active":
        assert result.status == ob.state
        return
    counting = [e for e in evidence if counts(e, review_required)]
    assert (result.status in ("done", "done_late")) == bool(counting)
    if counting:
        earliest = min(e.document_date for e in counting)
        late = ob.due is not None and earliest > ob.due
        assert result.status == ("done_late" if late else "done")
    assert (result.status == "escalated") == (result.level > 0)


@settings(max_examples=200, deadline=None)
@given(ob=obligations(states=st.just("active")), today=dates,
       step=st.integers(min_value=0, max_value=400), policy=POLICIES)
def test_moving_today_forward_never_moves_an_open_obligation_backwards(ob, today, step, policy):
    later = today + dt.timedelta(days=step)
    before = status_of(ob, None, today, policy)
    after = status_of(ob, None, later, policy)
    assert ORDER[before.status] <= ORDER[after.status]
    assert before.level <= after.level
    if ob.due is not None:
        assert after.days == (ob.due - later).days
