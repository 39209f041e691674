"""Tests for the Russian deadline grammar (issue #2) and the working-day calendar.

Every expected date below was worked out by hand from the issue's rules, not by
calling the grammar: months and quarters are windows due on their last day,
«до …» dates are due that day, recurring/ongoing wordings give one occurrence per
period overlapping the plan (``opens`` clipped to the plan start), relative wordings
have a rule instead of dates, and anything uncertain is unscheduled with a warning.
What is certainly wrong — an impossible date, a year more than a year outside the plan, a
reversed range — is an error (issue 10): unscheduled, and a plan with it is refused.

The sections are:
1. the seed wordings from the real plans (one table);
2. one group of tests per rule of the issue, with further plausible variants;
3. working days by the Russian production calendar;
4. Hypothesis properties over arbitrary and vocabulary-built texts;
5. the shape of ``Interpretation.as_json()``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nok_workflow.deadlines.grammar import (
    PlanPeriod,
    interpret,
    nearest_century,
    normalise,
    recurrence,
    relative_rule,
)
from nok_workflow.deadlines.model import Interpretation, RelativeRule
from nok_workflow.deadlines.workdays import (
    add_working_days,
    is_working_day,
    working_day_on_or_before,
)

# --- plan periods and helpers -----------------------------------------------------------

D = dt.date

PLAN_2024 = PlanPeriod.year(2024)
# The real Orenburg plan (plan_definitions/orenburg-raion-2024.yaml): starts mid-quarter.
PLAN_ORENBURG = PlanPeriod(D(2024, 9, 17), D(2024, 12, 31))
# A two-year plan of the kind the 2014–2015 seed wordings come from.
PLAN_2014_2015 = PlanPeriod(D(2014, 1, 1), D(2015, 12, 31))
# An academic-year plan: spans two calendar years.
PLAN_ACADEMIC = PlanPeriod(D(2024, 9, 1), D(2025, 8, 31))

KINDS = {"once", "window", "recurring", "ongoing", "relative", "unscheduled"}

QUARTERS_2024 = [
    ("2024-01-01", "2024-03-31", "2024-Q1"),
    ("2024-04-01", "2024-06-30", "2024-Q2"),
    ("2024-07-01", "2024-09-30", "2024-Q3"),
    ("2024-10-01", "2024-12-31", "2024-Q4"),
]
QUARTERS_2015 = [
    ("2015-01-01", "2015-03-31", "2015-Q1"),
    ("2015-04-01", "2015-06-30", "2015-Q2"),
    ("2015-07-01", "2015-09-30", "2015-Q3"),
    ("2015-10-01", "2015-12-31", "2015-Q4"),
]
# Quarters of the Orenburg plan: Q3 clipped to the plan start 17.09.2024.
QUARTERS_ORENBURG = [
    ("2024-09-17", "2024-09-30", "2024-Q3"),
    ("2024-10-01", "2024-12-31", "2024-Q4"),
]


def occurrences(result: Interpretation) -> list[tuple[str, str, str]]:
    """The occurrences as comparable (opens, due, period) ISO tuples."""
    return [(o.opens.isoformat(), o.due.isoformat(), o.period) for o in result.occurrences]


def assert_warned_about(result: Interpretation, text: str) -> None:
    """Some warning quotes the wording ``text`` (as «…»)."""
    assert any(f"«{text}" in w for w in result.warnings), result.warnings


def assert_error_about(result: Interpretation, text: str) -> None:
    """Some error quotes the wording ``text`` (as «…»): the wording is certainly wrong."""
    assert any(f"«{text}" in e for e in result.errors), (result.errors, result.warnings)


def assert_unscheduled(result: Interpretation) -> None:
    assert result.kind == "unscheduled"
    assert result.occurrences == ()
    assert result.relative is None
    assert result.warnings or result.errors


# --- 1. seed wordings -------------------------------------------------------------------

SEEDS = [
    # text, plan, kind, occurrences, warns
    ("Январь", PLAN_2024, "window", [("2024-01-01", "2024-01-31", "2024-01")], False),
    ("Май", PLAN_2024, "window", [("2024-05-01", "2024-05-31", "2024-05")], False),
    ("до 10.09.2014", PLAN_2014_2015, "once", [("2014-01-01", "2014-09-10", "2014-09-10")], False),
    ("До 01.03.2015", PLAN_2014_2015, "once", [("2014-01-01", "2015-03-01", "2015-03-01")], False),
    ("до 20.11. 2015", PLAN_2014_2015, "once", [("2014-01-01", "2015-11-20", "2015-11-20")], False),
    ("3 квартал 2024 г.", PLAN_ORENBURG, "window", [("2024-07-01", "2024-09-30", "2024-Q3")], False),
    # 2025 lies outside the 2024 plan: interpreted, but warned about.
    ("I квартал 2025 г.", PLAN_ORENBURG, "window", [("2025-01-01", "2025-03-31", "2025-Q1")], True),
    (
        "Октябрь –декабрь 2024 г.",
        PLAN_ORENBURG,
        "window",
        [("2024-10-01", "2024-12-31", "2024-10/2024-12")],
        False,
    ),
    ("Декабрь 2024 г.", PLAN_ORENBURG, "window", [("2024-12-01", "2024-12-31", "2024-12")], False),
    (
        "Ежеквартально до 5 числа",
        PLAN_ORENBURG,
        "recurring",
        [("2024-09-17", "2024-10-05", "2024-Q3"), ("2024-10-01", "2025-01-05", "2024-Q4")],
        False,
    ),
    ("Ежеквартально", PLAN_ORENBURG, "recurring", QUARTERS_ORENBURG, False),
    (
        "ежемесячно",
        PLAN_ORENBURG,
        "recurring",
        [
            ("2024-09-17", "2024-09-30", "2024-09"),
            ("2024-10-01", "2024-10-31", "2024-10"),
            ("2024-11-01", "2024-11-30", "2024-11"),
            ("2024-12-01", "2024-12-31", "2024-12"),
        ],
        False,
    ),
    ("1 раз в кв.", PLAN_2024, "recurring", QUARTERS_2024, False),
    ("постоянно", PLAN_2024, "ongoing", QUARTERS_2024, False),
    (
        "2014 год, далее-постоянно",
        PLAN_2014_2015,
        "ongoing",
        [("2014-01-01", "2014-12-31", "2014"), *QUARTERS_2015],
        False,
    ),
    ("В течение года", PLAN_ORENBURG, "ongoing", QUARTERS_ORENBURG, False),
    ("в течение  года", PLAN_2024, "ongoing", QUARTERS_2024, False),
    ("Согласно плану работы отдела образования, МКУ «ИМЦ»", PLAN_ORENBURG, "unscheduled", [], True),
    ("", PLAN_ORENBURG, "unscheduled", [], True),
    ("апрель", PLAN_2024, "window", [("2024-04-01", "2024-04-30", "2024-04")], False),
    ("Март ", PLAN_2024, "window", [("2024-03-01", "2024-03-31", "2024-03")], False),
]


@pytest.mark.parametrize(
    ("text", "plan", "kind", "expected", "warns"), SEEDS, ids=[repr(s[0]) for s in SEEDS]
)
def test_seed_wording(text, plan, kind, expected, warns):
    result = interpret(text, plan)
    assert result.kind == kind
    assert occurrences(result) == expected
    assert bool(result.warnings) is warns, result.warnings
    assert result.invalid is False


# --- 2. the rules of the issue ----------------------------------------------------------


class TestMonth:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Май", ("2024-05-01", "2024-05-31", "2024-05")),
            ("Май 2024", ("2024-05-01", "2024-05-31", "2024-05")),
            ("в мае", ("2024-05-01", "2024-05-31", "2024-05")),
            ("Февраль", ("2024-02-01", "2024-02-29", "2024-02")),  # leap year
            ("Декабрь 2024г.", ("2024-12-01", "2024-12-31", "2024-12")),
            ("до конца декабря", ("2024-12-01", "2024-12-31", "2024-12")),
        ],
    )
    def test_month_is_a_window_due_its_last_day(self, text, expected):
        result = interpret(text, PLAN_2024)
        assert result.kind == "window"
        assert occurrences(result) == [expected]
        assert result.warnings == ()

    def test_month_of_another_year(self):
        result = interpret("Февраль 2025 г.", PLAN_2024)
        assert occurrences(result) == [("2025-02-01", "2025-02-28", "2025-02")]
        assert_warned_about(result, "Февраль 2025 г.")


class TestOnceDate:
    @pytest.mark.parametrize(
        ("text", "due"),
        [
            ("до 10.09.2014", "2014-09-10"),
            ("До 01.03.2015", "2015-03-01"),
            ("до 20.11. 2015", "2015-11-20"),
            ("не позднее 15.03.2024", "2024-03-15"),
            ("до 1 апреля 2024", "2024-04-01"),
            ("до 15 декабря 2024 года", "2024-12-15"),
            ("до 31.12.2024 г.", "2024-12-31"),
            ("до 29.02.2024", "2024-02-29"),  # leap day exists in 2024
        ],
    )
    def test_date_is_due_that_day(self, text, due):
        result = interpret(text, PlanPeriod(D(2014, 1, 1), D(2024, 12, 31)))
        assert result.kind == "once"
        assert [(o.due.isoformat(), o.period) for o in result.occurrences] == [(due, due)]
        assert result.warnings == ()

    def test_once_opens_at_plan_start(self):
        result = interpret("до 15.10.2024", PLAN_ORENBURG)
        assert occurrences(result) == [("2024-09-17", "2024-10-15", "2024-10-15")]

    def test_word_date_without_year_takes_plan_year(self):
        result = interpret("до 1 апреля", PLAN_2024)
        assert result.kind == "once"
        assert occurrences(result) == [("2024-01-01", "2024-04-01", "2024-04-01")]
        assert result.warnings == ()

    def test_date_range_is_a_window(self):
        result = interpret("с 01.10.2024 по 15.10.2024", PLAN_2024)
        assert result.kind == "window"
        assert [(o.opens, o.due) for o in result.occurrences] == [(D(2024, 10, 1), D(2024, 10, 15))]

    def test_reversed_date_range_is_an_error(self):
        # Issue 10: a reversed range used to load as an item without a deadline.
        result = interpret("с 15.10.2024 по 01.10.2024", PLAN_2024)
        assert_unscheduled(result)
        assert result.invalid is True
        assert result.errors == (
            "начало позже окончания в сроке «с 15.10.2024 по 01.10.2024»: 15.10.2024 позже 01.10.2024",
        )


class TestQuarterAndHalfYear:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("3 квартал 2024 г.", ("2024-07-01", "2024-09-30", "2024-Q3")),
            ("3-й квартал 2024 года", ("2024-07-01", "2024-09-30", "2024-Q3")),
            ("III квартал 2024", ("2024-07-01", "2024-09-30", "2024-Q3")),
            ("I квартал 2024 г.", ("2024-01-01", "2024-03-31", "2024-Q1")),
            ("II квартал", ("2024-04-01", "2024-06-30", "2024-Q2")),
            ("IV квартал", ("2024-10-01", "2024-12-31", "2024-Q4")),
            ("4 кв.", ("2024-10-01", "2024-12-31", "2024-Q4")),
        ],
    )
    def test_quarter_is_a_window_due_its_last_day(self, text, expected):
        result = interpret(text, PLAN_2024)
        assert result.kind == "window"
        assert occurrences(result) == [expected]
        assert result.warnings == ()

    def test_abbreviated_quarter_with_year(self):
        # «кв.» is accepted alone («4 кв.», «1 раз в кв.»), so also before a year.
        result = interpret("4 кв. 2024 г.", PLAN_2024)
        assert result.kind == "window"
        assert occurrences(result) == [("2024-10-01", "2024-12-31", "2024-Q4")]

    def test_quarter_of_a_year_outside_the_plan_is_kept_and_warned(self):
        result = interpret("I квартал 2025 г.", PLAN_2024)
        assert result.kind == "window"
        assert occurrences(result) == [("2025-01-01", "2025-03-31", "2025-Q1")]
        assert_warned_about(result, "I квартал 2025 г.")
        assert result.invalid is False

    @pytest.mark.parametrize("text", ["5 квартал 2024", "V квартал"])
    def test_no_fifth_quarter(self, text):
        assert_unscheduled(interpret(text, PLAN_2024))

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("II полугодие 2024 г.", ("2024-07-01", "2024-12-31", "2024-H2")),
            ("II полугодие", ("2024-07-01", "2024-12-31", "2024-H2")),
            ("1 полугодие 2024", ("2024-01-01", "2024-06-30", "2024-H1")),
        ],
    )
    def test_half_year(self, text, expected):
        result = interpret(text, PLAN_2024)
        assert result.kind == "window"
        assert occurrences(result) == [expected]
        assert result.warnings == ()


class TestMonthRange:
    @pytest.mark.parametrize(
        "text",
        [
            "Октябрь –декабрь 2024 г.",
            "Октябрь 2024 – декабрь 2024",
            "с октября по декабрь 2024",
        ],
    )
    def test_range_opens_first_month_due_last_month(self, text):
        result = interpret(text, PLAN_ORENBURG)
        assert result.kind == "window"
        assert [(o.opens, o.due) for o in result.occurrences] == [(D(2024, 10, 1), D(2024, 12, 31))]

    def test_range_over_the_new_year(self):
        result = interpret("ноябрь – февраль 2025", PLAN_ACADEMIC)
        assert result.kind == "window"
        assert [(o.opens, o.due) for o in result.occurrences] == [(D(2024, 11, 1), D(2025, 2, 28))]
        assert result.warnings == ()


class TestRecurring:
    @pytest.mark.parametrize("text", ["Ежеквартально", "ежеквартально", "1 раз в кв.", "раз в квартал"])
    def test_quarterly(self, text):
        result = interpret(text, PLAN_2024)
        assert result.kind == "recurring"
        assert occurrences(result) == QUARTERS_2024

    def test_quarterly_by_the_5th(self):
        result = interpret("Ежеквартально до 5 числа", PLAN_2024)
        assert result.kind == "recurring"
        assert occurrences(result) == [
            ("2024-01-01", "2024-04-05", "2024-Q1"),
            ("2024-04-01", "2024-07-05", "2024-Q2"),
            ("2024-07-01", "2024-10-05", "2024-Q3"),
            ("2024-10-01", "2025-01-05", "2024-Q4"),
        ]

    def test_quarterly_by_the_5th_of_the_following_month_long_wording(self):
        result = interpret("ежеквартально до 5-го числа месяца, следующего за отчетным", PLAN_ORENBURG)
        assert occurrences(result) == [
            ("2024-09-17", "2024-10-05", "2024-Q3"),
            ("2024-10-01", "2025-01-05", "2024-Q4"),
        ]

    def test_monthly(self):
        result = interpret("ежемесячно", PLAN_2024)
        assert result.kind == "recurring"
        assert occurrences(result) == [
            ("2024-01-01", "2024-01-31", "2024-01"),
            ("2024-02-01", "2024-02-29", "2024-02"),
            ("2024-03-01", "2024-03-31", "2024-03"),
            ("2024-04-01", "2024-04-30", "2024-04"),
            ("2024-05-01", "2024-05-31", "2024-05"),
            ("2024-06-01", "2024-06-30", "2024-06"),
            ("2024-07-01", "2024-07-31", "2024-07"),
            ("2024-08-01", "2024-08-31", "2024-08"),
            ("2024-09-01", "2024-09-30", "2024-09"),
            ("2024-10-01", "2024-10-31", "2024-10"),
            ("2024-11-01", "2024-11-30", "2024-11"),
            ("2024-12-01", "2024-12-31", "2024-12"),
        ]

    def test_monthly_by_the_10th_of_the_next_month(self):
        result = interpret("ежемесячно до 10 числа", PLAN_ORENBURG)
        assert result.kind == "recurring"
        assert occurrences(result) == [
            ("2024-09-17", "2024-10-10", "2024-09"),
            ("2024-10-01", "2024-11-10", "2024-10"),
            ("2024-11-01", "2024-12-10", "2024-11"),
            ("2024-12-01", "2025-01-10", "2024-12"),
        ]

    def test_monthly_day_clamped_to_short_months(self):
        result = interpret("ежемесячно до 31 числа", PlanPeriod(D(2024, 1, 1), D(2024, 3, 31)))
        assert [o.due for o in result.occurrences] == [D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30)]

    def test_yearly_by_1_april(self):
        result = interpret("ежегодно до 1 апреля", PLAN_2024)
        assert result.kind == "recurring"
        assert occurrences(result) == [("2024-01-01", "2024-04-01", "2024")]

    def test_yearly_by_1_april_over_two_years(self):
        result = interpret("ежегодно до 1 апреля", PlanPeriod(D(2024, 1, 1), D(2025, 12, 31)))
        assert occurrences(result) == [
            ("2024-01-01", "2024-04-01", "2024"),
            ("2025-01-01", "2025-04-01", "2025"),
        ]

    def test_occurrences_clipped_to_a_plan_spanning_years(self):
        plan = PlanPeriod(D(2024, 9, 17), D(2025, 3, 31))
        result = interpret("Ежеквартально", plan)
        assert occurrences(result) == [
            ("2024-09-17", "2024-09-30", "2024-Q3"),
            ("2024-10-01", "2024-12-31", "2024-Q4"),
            ("2025-01-01", "2025-03-31", "2025-Q1"),
        ]

    @pytest.mark.parametrize("text", ["ежеквартально до 40 числа", "ежегодно до 30 февраля"])
    def test_impossible_day_in_a_recurrence(self, text):
        result = interpret(text, PLAN_2024)
        assert_unscheduled(result)
        assert result.invalid is True
        assert_error_about(result, text)

    def test_explicit_year_in_a_yearly_wording_limits_it_to_that_year(self):
        # Issue 10: «ежегодно до 1 апреля 2099» used to drop the year without a word.
        result = interpret("ежегодно до 1 апреля 2025", PlanPeriod(D(2024, 1, 1), D(2026, 12, 31)))
        assert result.kind == "recurring"
        assert occurrences(result) == [("2025-01-01", "2025-04-01", "2025")]
        assert result.warnings == (
            "в сроке «ежегодно до 1 апреля 2025» указан год 2025: повторяющийся срок принят только "
            "на 2025 год, а план на 2024–2026 — проверьте",
        )

    def test_explicit_year_in_a_yearly_wording_of_a_one_year_plan(self):
        assert occurrences(interpret("ежегодно до 1 апреля 2024", PLAN_2024)) == [
            ("2024-01-01", "2024-04-01", "2024")
        ]
        assert interpret("ежегодно до 1 апреля 2024", PLAN_2024).warnings == ()
        next_year = interpret("ежегодно до 1 апреля 2025", PLAN_2024)
        assert occurrences(next_year) == [("2025-01-01", "2025-04-01", "2025")]
        assert next_year.warnings == ("год 2025 в сроке «ежегодно до 1 апреля 2025» вне периода плана (2024)",)

    def test_explicit_year_far_from_the_plan_in_a_yearly_wording_is_an_error(self):
        result = interpret("ежегодно до 1 апреля 2099", PLAN_2024)
        assert_unscheduled(result)
        assert result.errors == (
            "год 2099 в сроке «ежегодно до 1 апреля 2099» вне периода плана (2024) больше чем на год: "
            "допустимы 2023–2025",
        )

    def test_two_different_years_in_a_recurring_wording_are_not_guessed(self):
        result = interpret("ежегодно до 1 апреля 2024, 2025", PlanPeriod(D(2024, 1, 1), D(2025, 12, 31)))
        assert_unscheduled(result)
        assert result.invalid is False
        assert_warned_about(result, "ежегодно до 1 апреля 2024, 2025")

    def test_recurrence_helper_directly(self):
        assert [(o.opens, o.due, o.period) for o in recurrence("quarter", PLAN_ORENBURG)] == [
            (D(2024, 9, 17), D(2024, 9, 30), "2024-Q3"),
            (D(2024, 10, 1), D(2024, 12, 31), "2024-Q4"),
        ]
        assert [o.due for o in recurrence("month", PLAN_ORENBURG, due_day=5)] == [
            D(2024, 10, 5), D(2024, 11, 5), D(2024, 12, 5), D(2025, 1, 5),
        ]  # fmt: skip


class TestOngoing:
    @pytest.mark.parametrize(
        "text", ["постоянно", "Постоянно", "В течение года", "в течение  года", "в течение всего года"]
    )
    def test_ongoing_is_quarterly(self, text):
        result = interpret(text, PLAN_2024)
        assert result.kind == "ongoing"
        assert occurrences(result) == QUARTERS_2024
        assert result.warnings == ()

    def test_ongoing_clipped_to_plan_start(self):
        # The issue's own example: plan 2024-09-17..2024-12-31, «В течение года» → Q3 from 17.09, Q4.
        result = interpret("В течение года", PLAN_ORENBURG)
        assert occurrences(result) == QUARTERS_ORENBURG

    def test_during_a_named_year_is_ongoing(self):
        # «в течение года» and «в течение всего 2024 года» are ongoing; so is «в течение 2024 года».
        assert interpret("в течение всего 2024 года", PLAN_2024).kind == "ongoing"
        result = interpret("в течение 2024 года", PLAN_2024)
        assert result.kind == "ongoing"
        assert occurrences(result) == QUARTERS_2024

    @pytest.mark.parametrize("text", ["2014 год, далее-постоянно", "2014 год, далее- постоянно"])
    def test_year_then_ongoing(self, text):
        plan = PlanPeriod(D(2014, 1, 1), D(2016, 12, 31))
        result = interpret(text, plan)
        assert result.kind == "ongoing"
        assert occurrences(result) == [
            ("2014-01-01", "2014-12-31", "2014"),
            *QUARTERS_2015,
            ("2016-01-01", "2016-03-31", "2016-Q1"),
            ("2016-04-01", "2016-06-30", "2016-Q2"),
            ("2016-07-01", "2016-09-30", "2016-Q3"),
            ("2016-10-01", "2016-12-31", "2016-Q4"),
        ]
        assert result.warnings == ()

    def test_year_then_ongoing_in_the_real_2014_2016_plan(self):
        # plan_definitions/yuzhno-sakhalinsk-2014-2016.yaml: 2014-09-01..2016-12-31.
        result = interpret("2014 год, далее-постоянно", PlanPeriod(D(2014, 9, 1), D(2016, 12, 31)))
        assert occurrences(result)[:2] == [
            ("2014-09-01", "2014-12-31", "2014"),
            ("2015-01-01", "2015-03-31", "2015-Q1"),
        ]
        assert occurrences(result)[-1] == ("2016-10-01", "2016-12-31", "2016-Q4")
        assert len(result.occurrences) == 1 + 8

    @pytest.mark.parametrize("text", ["2023 год, далее-постоянно", "2023 год, далее- постоянно"])
    def test_year_then_ongoing_rest_limited_to_plan_period(self, text):
        # In a plan for the second half of 2024: the 2023 occurrence (a year outside the plan,
        # warned about), then only the plan's quarters — not the first half of 2024 too.
        result = interpret(text, PlanPeriod(D(2024, 7, 1), D(2024, 12, 31)))
        assert result.kind == "ongoing"
        head, *rest = occurrences(result)
        assert head[1:] == ("2023-12-31", "2023")
        assert rest == QUARTERS_2024[2:]
        assert_warned_about(result, text)

    def test_year_then_ongoing_from_a_year_far_before_the_plan_is_an_error(self):
        result = interpret("2014 год, далее-постоянно", PLAN_2024)
        assert_unscheduled(result)
        assert_error_about(result, "2014 год, далее-постоянно")

    def test_year_then_ongoing_rest_clipped_to_plan_start(self):
        result = interpret("2023 год, далее-постоянно", PLAN_ORENBURG)
        assert occurrences(result)[1:] == QUARTERS_ORENBURG

    def test_year_then_ongoing_first_year_outside_plan_is_the_whole_year(self):
        # Like «до 10.09.2023» (opens 01.01.2023) or «I квартал 2025 г.» (whole quarter), a first
        # year outside the plan is taken whole, not as a one-day window on 31.12.
        result = interpret("2023 год, далее-постоянно", PLAN_2024)
        assert occurrences(result)[0] == ("2023-01-01", "2023-12-31", "2023")

    def test_year_then_ongoing_within_plan_clipped(self):
        result = interpret("2024 год, далее-постоянно", PLAN_ACADEMIC)
        assert occurrences(result) == [
            ("2024-09-01", "2024-12-31", "2024"),
            ("2025-01-01", "2025-03-31", "2025-Q1"),
            ("2025-04-01", "2025-06-30", "2025-Q2"),
            ("2025-07-01", "2025-09-30", "2025-Q3"),
        ]


class TestRelative:
    @pytest.mark.parametrize(
        ("text", "amount", "unit"),
        [
            ("в течение одного месяца со дня получения отчета оператора", 1, "months"),
            ("не позднее 5 рабочих дней со дня подписания протокола", 5, "working_days"),
            ("в течение 10 дней после подписания договора", 10, "days"),
            ("в течение двух недель со дня подписания договора", 14, "days"),
            ("в течение пяти рабочих дней со дня подписания", 5, "working_days"),
            ("в течение 3-х рабочих дней со дня подписания", 3, "working_days"),
            ("в течение 5 календарных дней с даты подписания", 5, "days"),
            ("через 3 дня после заседания", 3, "days"),
            ("в течение месяца со дня подписания", 1, "months"),
        ],
    )
    def test_relative_rule(self, text, amount, unit):
        result = interpret(text, PLAN_2024)
        assert result.kind == "relative"
        assert result.occurrences == ()
        assert (result.relative.amount, result.relative.unit) == (amount, unit)
        assert result.relative.after is None
        assert_warned_about(result, text)  # asks for the anchor item

    def test_event_is_kept(self):
        rule = interpret(
            "в течение одного месяца со дня получения отчета оператора", PLAN_2024
        ).relative
        assert rule.event == "получения отчета оператора"

    def test_with_anchor_item_no_warning(self):
        result = interpret("не позднее 5 рабочих дней со дня подписания протокола", PLAN_2024, after="I.1")
        assert result.kind == "relative"
        assert result.relative == RelativeRule(5, "working_days", "I.1", "подписания протокола")
        assert result.warnings == ()

    def test_relative_rule_function(self):
        assert relative_rule("в течение двух недель со дня подписания договора") == RelativeRule(
            14, "days", event="подписания договора"
        )
        assert relative_rule("декабрь 2024") is None


class TestUnscheduled:
    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   ",
            None,
            "Согласно плану работы отдела образования, МКУ «ИМЦ»",
            "по мере необходимости",
            "По мере необходимости",
        ],
    )
    def test_no_date_on_purpose(self, text):
        result = interpret(text, PLAN_2024)
        assert_unscheduled(result)
        assert result.invalid is False
        if text and text.strip():
            assert_warned_about(result, text)


class TestYear:
    @pytest.mark.parametrize(
        ("text", "due", "period"),
        [
            ("3 квартал", "2024-09-30", "2024-Q3"),  # Q3 2024 and Q3 2025 both touch the plan
            ("II полугодие", "2024-12-31", "2024-H2"),
        ],
    )
    def test_no_year_in_a_multi_year_plan_takes_start_year_and_warns(self, text, due, period):
        result = interpret(text, PLAN_ACADEMIC)
        assert [(o.due.isoformat(), o.period) for o in result.occurrences] == [(due, period)]
        assert_warned_about(result, text)

    @pytest.mark.parametrize(
        ("text", "due"),
        [("Май", "2025-05-31"), ("до 1 апреля", "2025-04-01"), ("Сентябрь", "2024-09-30"),
         ("с 5 по 20 ноября", "2024-11-20"), ("ноябрь – февраль", "2025-02-28"), ("I квартал", "2025-03-31")],
    )
    def test_no_year_where_the_plan_leaves_one_place_is_silent(self, text, due):
        # Issue 14: a school-year plan (01.09.2024–31.08.2025) holds May only in 2025.
        result = interpret(text, PLAN_ACADEMIC)
        assert [o.due.isoformat() for o in result.occurrences] == [due]
        assert result.warnings == ()

    @pytest.mark.parametrize("text", ["Май", "3 квартал", "II полугодие", "до 1 апреля"])
    def test_no_year_in_a_one_year_plan_is_silent(self, text):
        assert interpret(text, PLAN_2024).warnings == ()

    @pytest.mark.parametrize("text", ["до 10.09.2023", "I квартал 2025 г.", "Декабрь 2023 г."])
    def test_year_just_outside_the_plan_is_allowed_and_warned(self, text):
        result = interpret(text, PLAN_2024)
        assert result.kind in {"once", "window"}
        assert len(result.occurrences) == 1
        assert result.invalid is False
        assert_warned_about(result, text)

    @pytest.mark.parametrize(
        "text",
        [
            "до 10.09.2014", "до 01.01.0001", "до 31.12.9999", "до 00.00.0000", "Декабрь 2030 г.",
            "I квартал 2022 г.", "II полугодие 2026", "2099 год", "в течение 2099 года",
            "2014 год, далее-постоянно", "ежеквартально 2030", "с 01.10.2024 по 15.10.2026",
            "октябрь 2010 – декабрь 2024", "до 1 апреля 2199",
        ],
    )  # fmt: skip
    def test_year_more_than_a_year_outside_the_plan_is_an_error(self, text):
        # Issue 10: a year-0001 item used to load with a warning, escalate at once and be mailed.
        result = interpret(text, PLAN_2024)
        assert_unscheduled(result)
        assert result.invalid is True
        assert any(f"в сроке «{text}» вне периода плана (2024) больше чем на год: допустимы 2023–2025" in e
                   for e in result.errors), result.errors

    @pytest.mark.parametrize(
        ("text", "invalid"),
        [("до 31.12.2012", True), ("до 31.12.2013", False), ("до 01.01.2016", False),
         ("до 01.01.2017", True)],
    )
    def test_the_year_of_grace_is_counted_from_both_ends_of_a_multi_year_plan(self, text, invalid):
        assert interpret(text, PlanPeriod(D(2014, 9, 1), D(2015, 12, 31))).invalid is invalid


class TestTwoDigitYears:
    @pytest.mark.parametrize(
        ("text", "plan", "due"),
        [
            ("до 01.12.24", PLAN_2024, "2024-12-01"),
            ("до 20.11.15", PLAN_2014_2015, "2015-11-20"),
            ("до 31.12.99", PlanPeriod.year(2000), "1999-12-31"),  # the 20th century is nearer
            ("до 01.01.00", PlanPeriod.year(2099), "2100-01-01"),  # the 22nd
        ],
    )
    def test_two_digit_year_takes_the_century_nearest_the_plan_and_warns(self, text, plan, due):
        result = interpret(text, plan)
        assert [o.due.isoformat() for o in result.occurrences] == [due]
        assert f"год «{text[-2:]}» в сроке «{text}» записан двумя цифрами; принят {due[:4]} — проверьте" in (
            result.warnings
        )
        assert result.errors == ()

    def test_two_digit_year_far_from_the_plan_in_any_century_is_an_error(self):
        # Issue 10: «до 7.12.74» became 2074. In a 2024 plan 1974 and 2074 are equally far: an error.
        result = interpret("до 7.12.74", PLAN_2024)
        assert_unscheduled(result)
        assert result.errors == (
            "год 1974 в сроке «до 7.12.74» вне периода плана (2024) больше чем на год: допустимы 2023–2025",
        )

    @pytest.mark.parametrize(
        ("digits", "plan", "year"),
        [(74, PLAN_2024, 1974), (30, PLAN_2024, 2030), (90, PLAN_2024, 1990), (0, PlanPeriod.year(2099), 2100),
         (99, PlanPeriod.year(2000), 1999), (15, PLAN_2014_2015, 2015)],
    )
    def test_nearest_century(self, digits, plan, year):
        assert nearest_century(digits, plan) == year


class TestReversedRanges:
    @pytest.mark.parametrize(
        "text", ["с 15.10.2024 по 01.10.2024", "15.10.2024 - 01.10.2024", "октябрь 2024 – март 2024",
                 "с декабря 2024 по январь 2024"]
    )
    def test_reversed_range_is_an_error(self, text):
        result = interpret(text, PLAN_2024)
        assert_unscheduled(result)
        assert_error_about(result, text)
        assert "начало позже окончания" in result.errors[0]

    def test_range_from_a_year_into_the_next_without_the_second_year(self):
        result = interpret("ноябрь 2024 – февраль", PLAN_ACADEMIC)
        assert [(o.opens, o.due) for o in result.occurrences] == [(D(2024, 11, 1), D(2025, 2, 28))]
        assert len(result.warnings) == 1 and "переходит через год" in result.warnings[0]


class TestInvalidAndUncertain:
    @pytest.mark.parametrize("text", ["31.02.2024", "до 30.02.2024", "до 29.02.2023", "до 00.01.2024"])
    def test_impossible_date(self, text):
        result = interpret(text, PlanPeriod(D(2023, 1, 1), D(2024, 12, 31)))
        assert_unscheduled(result)
        assert result.invalid is True
        assert_error_about(result, text)

    @pytest.mark.parametrize(
        "text",
        [
            "xyz",
            "Май, по итогам мониторинга",
            "примерно в мае",
            "3 квартал 2024 г.; 4 квартал 2024 г.",
            "ежемесячно до 5 апреля",
            "3 раза в год",
            "в начале года",
        ],
    )
    def test_uncertain_wording_is_not_guessed(self, text):
        result = interpret(text, PLAN_2024)
        assert_unscheduled(result)
        assert result.invalid is False
        assert_warned_about(result, text)


class TestNormalise:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("до 20.11. 2015", "до 20.11.2015"),
            ("Декабрь 2024 г.", "декабрь 2024"),
            ("3-й квартал 2024 года", "3-й квартал 2024"),
            ("Октябрь –декабрь 2024 г.", "октябрь-декабрь 2024"),
            ("в течение  года", "в течение года"),
            ("2014 год, далее- постоянно", "2014, далее-постоянно"),
            ("Март ", "март"),
            ("1 раз в кв.", "1 раз в кв"),
        ],
    )
    def test_normalise(self, text, expected):
        assert normalise(text) == expected


# --- 3. working days --------------------------------------------------------------------


class TestWorkdays:
    def test_add_working_days_over_new_year(self):
        # 28.12.2024 (Saturday) is a working day by transfer; 30.12 and 31.12 are days off.
        assert add_working_days(D(2024, 12, 27), 1) == D(2024, 12, 28)

    def test_add_working_days_skips_new_year_holidays(self):
        # After Saturday 28.12.2024: 29.12 Sunday, 30.12–31.12 transferred days off,
        # 1–8 January 2025 holidays; the next working day is Thursday 9 January 2025.
        assert add_working_days(D(2024, 12, 28), 1) == D(2025, 1, 9)

    @pytest.mark.parametrize(
        ("day", "working"),
        [
            (D(2024, 12, 28), True),  # transferred working Saturday
            (D(2024, 12, 30), False),
            (D(2024, 12, 31), False),
            (D(2024, 11, 2), True),  # transferred working Saturday
            (D(2024, 11, 4), False),  # Day of National Unity
            (D(2024, 5, 9), False),
        ],
    )
    def test_is_working_day(self, day, working):
        assert is_working_day(day) is working

    def test_working_day_on_or_before_may_holidays(self):
        # 9–12 May 2024 are days off; Wednesday 8 May is the last working day before.
        assert working_day_on_or_before(D(2024, 5, 12)) == D(2024, 5, 8)

    def test_working_day_on_or_before_a_working_day_is_itself(self):
        assert working_day_on_or_before(D(2024, 5, 8)) == D(2024, 5, 8)

    def test_add_zero_working_days(self):
        assert add_working_days(D(2024, 5, 11), 0) == D(2024, 5, 11)


# --- 4. properties ----------------------------------------------------------------------

_MONTH_WORDS = [
    "январь", "Января", "февраль", "феврале", "март", "марта", "Апрель", "май", "мая", "мае",
    "июнь", "июля", "август", "августа", "сентябрь", "октябрь", "Октябре", "ноябрь", "декабрь",
    "Декабря",
]  # fmt: skip
_WORDS = [
    "квартал", "квартала", "кв.", "кв", "полугодие", "до", "До", "не позднее", "с", "по", "к",
    "в", "в течение", "года", "год", "г.", "гг.", "ежеквартально", "Ежеквартально",
    "ежемесячно", "ежегодно", "раз в", "1 раз в кв.", "числа", "-го", "далее", "постоянно",
    "рабочих дней", "дней", "недель", "месяца", "со дня", "после", "подписания", "всего",
    "согласно плану", "по мере необходимости", "I", "II", "III", "IV", "V", "-й", "одного",
    "двух", "пяти", "следующего за отчетным",
    # issue 14
    "в срок", "в срок до", "во", "на протяжении", "учебного года", "учебный год", "уч. год", "по итогам",
    "каждого месяца", "текущего", "до конца", "к концу", "в конце", "к началу", "первом", "втором",
    "полугодии", "квартале", "раза в год", "дважды", "2 раза в год", "г", "/", "2024/2025", "23г.",
    "с 5 по 20", "по итогам квартала", "по итогам года", "ежегодно в", "в период с",
]  # fmt: skip
_PUNCTUATION = [",", ".", ";", ":", "-", "–", "—", "−", " ", "\u00a0", "  ", "(", ")", "«", "»", "<b>"]

_dates = st.builds(
    lambda d, m, y, sep: f"{d}{sep}{m}{sep}{y}",
    st.integers(0, 40).map(lambda d: f"{d:02d}" if d < 10 and d % 2 else str(d)),
    st.integers(0, 15).map(lambda m: f"{m:02d}"),
    st.one_of(st.integers(0, 99).map(lambda y: f"{y:02d}"), st.integers(1, 9999).map(str)),
    st.sampled_from([".", ". ", " .", "."]),
)
_years = st.integers(1890, 2230).map(str)
_fragment = st.one_of(
    st.sampled_from(_MONTH_WORDS),
    st.sampled_from(_WORDS),
    st.sampled_from(_PUNCTUATION),
    st.integers(0, 400).map(str),
    _years,
    _years.map(lambda y: f"{y} г."),
    _dates,
)
vocabulary_text = st.lists(_fragment, max_size=8).map(" ".join) | st.lists(
    _fragment, max_size=8
).map("".join)

# Wordings built the way documents write them (a prefix, a period or date, a year), so that
# most of them are read and carry dates the properties can check.
_PREFIXES = ["", "до", "в срок до", "не позднее", "в", "во", "к концу", "до конца", "в течение",
             "на протяжении", "по итогам", "ежегодно до", "ежеквартально до", "ежемесячно до", "с", "к началу"]
_BODIES = st.one_of(
    st.sampled_from(_MONTH_WORDS),
    st.builds("{} квартал".format, st.sampled_from(["1", "2-м", "III", "IV", "4-й", "первом", "5"])),
    st.builds("{} полугодии".format, st.sampled_from(["1", "2-м", "II", "первом", "втором", "3"])),
    st.builds("{} {}".format, st.integers(0, 32), st.sampled_from(_MONTH_WORDS)),
    st.builds("{} по {} {}".format, st.integers(0, 32), st.integers(0, 32), st.sampled_from(_MONTH_WORDS)),
    st.builds("{} числа каждого месяца".format, st.integers(0, 32)),
    st.sampled_from(["года", "учебного года", "квартала", "полугодия", "текущего года"]),
    _dates,
)


@st.composite
def plan_and_structured_text(draw):
    plan = draw(plans)
    year = plan.start.year + draw(st.integers(-3, 4))
    tail = draw(st.sampled_from(["", f"{year}", f"{year} г.", f"{year} года", f"{year}/{year + 1} учебный год",
                                 f"{year}-{year + 1} уч. год", f"{year % 100:02d}г."]))
    return plan, f"{draw(st.sampled_from(_PREFIXES))} {draw(_BODIES)} {tail}"


plans = st.builds(
    lambda start, days: PlanPeriod(start, start + dt.timedelta(days=days)),
    st.dates(D(2010, 1, 1), D(2030, 12, 31)),
    st.integers(0, 3 * 366),
)


def _check_invariants(text: str, plan: PlanPeriod) -> None:
    result = interpret(text, plan)
    assert result.kind in KINDS
    assert result.invalid is bool(result.errors)
    if result.errors:
        assert result.kind == "unscheduled", "nothing is scheduled from a wrong wording"
    if result.kind == "unscheduled":
        assert result.warnings or result.errors, "an unscheduled item must say why"
        assert result.occurrences == ()
    elif result.kind == "relative":
        assert result.relative is not None
        assert result.occurrences == ()
    else:
        assert result.occurrences, result
    for occ in result.occurrences:
        assert occ.opens <= occ.due, occ
    assert all(isinstance(w, str) and w for w in result.warnings + result.errors)
    json.dumps(result.as_json(), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), plan=plans)
def test_any_text_never_raises(text, plan):
    _check_invariants(text, plan)


@settings(max_examples=300, deadline=None)
@given(text=vocabulary_text, plan=plans)
def test_vocabulary_text_never_raises(text, plan):
    _check_invariants(text, plan)


def _check_due_dates(text: str, plan: PlanPeriod) -> Interpretation:
    result = interpret(text, plan)
    for o in result.occurrences:
        assert o.opens <= o.due, (text, o)
    # A year either side; «по итогам» a period of the plan's year adds its lag of 10 working
    # days (24 days after 31 December, over the New Year holidays), as for a one-day plan of
    # 1 January 2010 and «по итогам 2-м полугодии» — due 24 January 2011.
    earliest, latest = plan.start - relativedelta(years=1), plan.end + relativedelta(years=1, days=31)
    if any(not earliest <= o.due <= latest for o in result.occurrences):
        assert result.warnings, (text, plan, result)
    return result


@settings(max_examples=500, deadline=None)
@given(text=vocabulary_text, plan=plans)
def test_no_due_before_its_window_nor_far_outside_the_plan_unwarned(text, plan):
    """Issue 14: a reading never has a due date before its window opens, nor one more than a
    year outside the plan period without saying so."""
    _check_due_dates(text, plan)


@settings(max_examples=1500, deadline=None)
@given(case=plan_and_structured_text())
@example(case=(PlanPeriod(D(2010, 1, 1), D(2010, 1, 1)), "по итогам 2-м полугодии "))  # found 07.12.2026
def test_due_dates_of_document_like_wordings(case):
    plan, text = case
    _check_due_dates(text, plan)


def _quarter_index(day: dt.date) -> int:
    return day.year * 4 + (day.month - 1) // 3


@settings(max_examples=300, deadline=None)
@given(
    text=st.sampled_from(["Ежеквартально", "1 раз в кв.", "постоянно", "В течение года"]),
    plan=plans,
)
def test_quarterly_occurrences_cover_the_plan(text, plan):
    result = interpret(text, plan)
    occ = result.occurrences
    assert len(occ) == _quarter_index(plan.end) - _quarter_index(plan.start) + 1
    assert occ[0].opens == plan.start
    assert occ[-1].opens <= plan.end <= occ[-1].due
    for before, after in zip(occ, occ[1:]):
        assert after.opens == before.due + dt.timedelta(days=1)
        assert after.opens.day == 1 and after.opens.month in (1, 4, 7, 10)


# --- 5. as_json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ежеквартально до 5 числа",
        "Декабрь 2024 г.",
        "до 30.02.2024",
        "xyz",
        "не позднее 5 рабочих дней со дня подписания протокола",
    ],
)
def test_as_json_shape(text):
    result = interpret(text, PLAN_ORENBURG)
    data = result.as_json()
    assert {"kind", "occurrences", "warnings", "errors"} <= set(data) <= {
        "text", "kind", "occurrences", "warnings", "errors", "relative", "notes",
    }  # fmt: skip
    assert data["kind"] == result.kind
    assert data["warnings"] == list(result.warnings)
    assert data["errors"] == list(result.errors)
    assert all(isinstance(w, str) for w in data["warnings"])
    assert isinstance(data["occurrences"], list)
    for occ, original in zip(data["occurrences"], result.occurrences, strict=True):
        assert set(occ) == {"opens", "due", "period"}
        assert occ["opens"] == original.opens.isoformat()
        assert occ["due"] == original.due.isoformat()
        assert D.fromisoformat(occ["opens"]) <= D.fromisoformat(occ["due"])
        assert isinstance(occ["period"], str)
    assert ("relative" in data) is (result.kind == "relative")
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_as_json_example():
    data = interpret("Ежеквартально до 5 числа", PLAN_ORENBURG).as_json()
    assert data["kind"] == "recurring"
    assert data["occurrences"] == [
        {"opens": "2024-09-17", "due": "2024-10-05", "period": "2024-Q3"},
        {"opens": "2024-10-01", "due": "2025-01-05", "period": "2024-Q4"},
    ]
    assert data["warnings"] == []


class TestPlanBoundaries:
    """Dates the plan period makes doubtful are reported, never silently owed."""

    ORENBURG = PlanPeriod(dt.date(2024, 9, 17), dt.date(2024, 12, 31))

    def test_yearly_date_before_the_plan_start_is_not_owed(self):
        result = interpret("ежегодно до 1 апреля", self.ORENBURG)
        assert result.kind == "recurring" and result.occurrences == ()
        assert result.warnings == (
            "по сроку «ежегодно до 1 апреля» нет ни одного срока в периоде плана (2024)",
        )

    def test_once_before_the_plan_start_is_warned(self):
        result = interpret("до 01.09.2024", self.ORENBURG)
        assert [(o.opens, o.due) for o in result.occurrences] == [
            (dt.date(2024, 1, 1), dt.date(2024, 9, 1))
        ]
        assert result.warnings == ("срок «до 01.09.2024» раньше начала плана (17.09.2024)",)

    def test_month_range_over_new_year_without_year_is_warned(self):
        result = interpret("ноябрь – февраль", PlanPeriod.year(2024))
        assert [(o.opens, o.due) for o in result.occurrences] == [
            (dt.date(2023, 11, 1), dt.date(2024, 2, 29))
        ]
        assert len(result.warnings) == 1 and "переходит через год" in result.warnings[0]
