"""Deadline wordings of real plans beyond the seeds (issue 14).

Part 1: each kind the issue names, with dates worked out by hand (working days by the
Russian production calendar: 1–8 January are holidays). Part 2: the corpus of real wordings
collected from public municipal and regional plans (tests/data/deadline_corpus.yaml), each
with the reading it must get; the wordings the grammar does not understand stay flagged, and
the warning names the words that were not understood.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from nok_workflow.deadlines.grammar import PlanPeriod, interpret
from nok_workflow.deadlines.model import Interpretation

D = dt.date
Y2023, Y2024, Y2025 = PlanPeriod.year(2023), PlanPeriod.year(2024), PlanPeriod.year(2025)
ACADEMIC = PlanPeriod(D(2024, 9, 1), D(2025, 8, 31))
ORENBURG = PlanPeriod(D(2024, 9, 17), D(2024, 12, 31))
TWO_YEARS = PlanPeriod(D(2014, 1, 1), D(2015, 12, 31))
Q = {  # the quarters of 2024
    1: ("2024-01-01", "2024-03-31", "2024-Q1"), 2: ("2024-04-01", "2024-06-30", "2024-Q2"),
    3: ("2024-07-01", "2024-09-30", "2024-Q3"), 4: ("2024-10-01", "2024-12-31", "2024-Q4"),
}  # fmt: skip


def occ(result: Interpretation) -> list[tuple[str, str, str]]:
    return [(o.opens.isoformat(), o.due.isoformat(), o.period) for o in result.occurrences]


# text, plan, kind, occurrences, warned
KINDS = [
    # prefixes and case forms
    ("в срок до 15 марта 2023 года", Y2023, "once", [("2023-01-01", "2023-03-15", "2023-03-15")], False),
    ("в срок не позднее 01.04.2024", Y2024, "once", [("2024-01-01", "2024-04-01", "2024-04-01")], False),
    ("В срок не позднее 1 апреля 2024 г.", Y2024, "once", [("2024-01-01", "2024-04-01", "2024-04-01")], False),
    ("в марте", Y2024, "window", [("2024-03-01", "2024-03-31", "2024-03")], False),
    ("в марте 2024 года", Y2024, "window", [("2024-03-01", "2024-03-31", "2024-03")], False),
    ("в 1 квартале 2025 года", Y2025, "window", [("2025-01-01", "2025-03-31", "2025-Q1")], False),
    ("во II квартале", Y2024, "window", [Q[2]], False),
    ("Во II квартале 2024 г.", Y2024, "window", [Q[2]], False),
    ("в первом полугодии 2025 г.", Y2025, "window", [("2025-01-01", "2025-06-30", "2025-H1")], False),
    ("во 2-м полугодии 2025 года", Y2025, "window", [("2025-07-01", "2025-12-31", "2025-H2")], False),
    ("во втором полугодии", Y2024, "window", [("2024-07-01", "2024-12-31", "2024-H2")], False),
    ("в третьем квартале 2024 года", Y2024, "window", [Q[3]], False),
    ("на протяжении года", Y2024, "ongoing", [Q[1], Q[2], Q[3], Q[4]], False),
    ("в течение календарного года", Y2024, "ongoing", [Q[1], Q[2], Q[3], Q[4]], False),
    # two-digit years and a glued «г.»
    ("до 01.03.23г.", Y2023, "once", [("2023-01-01", "2023-03-01", "2023-03-01")], True),
    ("в период с 03.02.2023г. по 17.02.2023г.", Y2023, "window",
     [("2023-02-03", "2023-02-17", "2023-02-03/2023-02-17")], False),
    ("с 10.10.23 по 20.10.23", Y2023, "window", [("2023-10-10", "2023-10-20", "2023-10-10/2023-10-20")], True),
    ("с 01.09 по 30.09.2024", Y2024, "window", [("2024-09-01", "2024-09-30", "2024-09-01/2024-09-30")], False),
    # day ranges inside a month and across months and years
    ("с 5 по 20 ноября", Y2024, "window", [("2024-11-05", "2024-11-20", "2024-11-05/2024-11-20")], False),
    ("5-20 ноября 2024 г.", Y2024, "window", [("2024-11-05", "2024-11-20", "2024-11-05/2024-11-20")], False),
    ("с 20 ноября по 5 декабря 2024 г.", Y2024, "window",
     [("2024-11-20", "2024-12-05", "2024-11-20/2024-12-05")], False),
    ("с 1 сентября 2024 г. по 31 мая 2025 г.", ACADEMIC, "window",
     [("2024-09-01", "2025-05-31", "2024-09-01/2025-05-31")], False),
    ("с 20 декабря по 10 января 2025 года", ACADEMIC, "window",
     [("2024-12-20", "2025-01-10", "2024-12-20/2025-01-10")], False),
    # ends of periods
    ("до конца текущего года", Y2024, "window", [("2024-01-01", "2024-12-31", "2024")], False),
    ("к концу 2025 года", Y2025, "window", [("2025-01-01", "2025-12-31", "2025")], False),
    ("в конце года", Y2024, "window", [("2024-12-01", "2024-12-31", "2024-12")], False),
    ("до конца I полугодия", Y2024, "window", [("2024-01-01", "2024-06-30", "2024-H1")], False),
    ("к началу учебного года", Y2024, "once", [("2024-01-01", "2024-09-01", "2024-09-01")], False),
    ("к началу учебного года", ACADEMIC, "once", [("2024-09-01", "2024-09-01", "2024-09-01")], False),
    ("к началу 2025/2026 учебного года", Y2025, "once", [("2025-01-01", "2025-09-01", "2025-09-01")], False),
    # recurrences phrased by the day
    ("до 10 числа каждого месяца", ORENBURG, "recurring", [  # 10 September is before the plan
        ("2024-10-01", "2024-10-10", "2024-10"), ("2024-11-01", "2024-11-10", "2024-11"),
        ("2024-12-01", "2024-12-10", "2024-12")], False),
    ("ежемесячно, не позднее 5 числа месяца, следующего за отчётным", ORENBURG, "recurring", [
        ("2024-09-17", "2024-10-05", "2024-09"), ("2024-10-01", "2024-11-05", "2024-10"),
        ("2024-11-01", "2024-12-05", "2024-11"), ("2024-12-01", "2025-01-05", "2024-12")], False),
    ("ежеквартально до 15 числа месяца, следующего за отчётным кварталом", ORENBURG, "recurring", [
        ("2024-09-17", "2024-10-15", "2024-Q3"), ("2024-10-01", "2025-01-15", "2024-Q4")], False),
    ("ежегодно в срок до 20 января", TWO_YEARS, "recurring", [
        ("2014-01-01", "2014-01-20", "2014"), ("2015-01-01", "2015-01-20", "2015")], False),
    ("2 раза в год", Y2024, "recurring", [
        ("2024-01-01", "2024-06-30", "2024-H1"), ("2024-07-01", "2024-12-31", "2024-H2")], False),
    ("дважды в год", Y2024, "recurring", [
        ("2024-01-01", "2024-06-30", "2024-H1"), ("2024-07-01", "2024-12-31", "2024-H2")], False),
    ("1 раз в полугодие", Y2024, "recurring", [
        ("2024-01-01", "2024-06-30", "2024-H1"), ("2024-07-01", "2024-12-31", "2024-H2")], False),
    ("4 раза в год", Y2024, "recurring", [Q[1], Q[2], Q[3], Q[4]], False),
    ("ежегодно в декабре", TWO_YEARS, "recurring", [
        ("2014-12-01", "2014-12-31", "2014-12"), ("2015-12-01", "2015-12-31", "2015-12")], False),
    # school years: 1 September – 31 August
    ("2024/2025 учебный год", ACADEMIC, "window", [("2024-09-01", "2025-08-31", "2024/2025")], False),
    ("2024-2025 уч. год", ACADEMIC, "window", [("2024-09-01", "2025-08-31", "2024/2025")], False),
    ("2024/2025 учебный год", Y2024, "window", [("2024-09-01", "2025-08-31", "2024/2025")], True),
    ("в течение 2024–2025 учебного года", ACADEMIC, "ongoing", [
        ("2024-09-01", "2024-09-30", "2024-Q3"), ("2024-10-01", "2024-12-31", "2024-Q4"),
        ("2025-01-01", "2025-03-31", "2025-Q1"), ("2025-04-01", "2025-06-30", "2025-Q2"),
        ("2025-07-01", "2025-09-30", "2025-Q3")], False),
    ("в течение учебного года", ACADEMIC, "ongoing", [
        ("2024-09-01", "2024-09-30", "2024-Q3"), ("2024-10-01", "2024-12-31", "2024-Q4"),
        ("2025-01-01", "2025-03-31", "2025-Q1"), ("2025-04-01", "2025-06-30", "2025-Q2"),
        ("2025-07-01", "2025-09-30", "2025-Q3")], False),
    # a calendar-year plan holds parts of two school years: the one starting in it, said so
    ("в течение учебного года", Y2024, "ongoing", [("2024-09-01", "2024-09-30", "2024-Q3"), Q[4]], True),
    # «по итогам …»: 10 working days after the period by default
    ("по итогам квартала", Y2024, "recurring", [
        ("2024-04-01", "2024-04-12", "2024-Q1"), ("2024-07-01", "2024-07-12", "2024-Q2"),
        ("2024-10-01", "2024-10-14", "2024-Q3"), ("2025-01-01", "2025-01-22", "2024-Q4")], False),
    ("по итогам года", Y2024, "recurring", [("2025-01-01", "2025-01-22", "2024")], False),
    ("по итогам 1 квартала 2024 года", Y2024, "once", [("2024-04-01", "2024-04-12", "2024-Q1")], False),
    ("по итогам I полугодия", Y2024, "once", [("2024-07-01", "2024-07-12", "2024-H1")], False),
]


@pytest.mark.parametrize(("text", "plan", "kind", "expected", "warned"), KINDS, ids=[f"{k[0]}|{k[1].describe()}"
                                                                                    for k in KINDS])
def test_kind_of_wording(text, plan, kind, expected, warned):
    result = interpret(text, plan)
    assert (result.kind, occ(result)) == (kind, expected), result.warnings
    assert bool(result.warnings) is warned, result.warnings
    assert result.errors == ()


def test_after_period_days_is_the_plans_setting_and_said_in_the_reading():
    default = interpret("по итогам квартала", Y2024)
    five = interpret("по итогам квартала", Y2024, after_period_days=5)
    assert [o.due for o in five.occurrences][:2] == [D(2024, 4, 5), D(2024, 7, 5)]
    assert default.notes == ("«по итогам» периода: срок — 10 рабочих дней после его окончания "
                             "(настройка плана after_period_working_days)",)
    assert five.notes[0].startswith("«по итогам» периода: срок — 5 рабочих дней после")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Май, по итогам мониторинга", ["мониторинга"]),
        ("примерно в мае", ["примерно"]),
        ("еженедельно по пятницам", ["еженедельно", "пятницам"]),
        ("V квартал", ["v"]),
    ],
)
def test_not_understood_names_the_words(text, words):
    result = interpret(text, Y2024)
    assert result.kind == "unscheduled" and result.occurrences == ()
    (warning,) = result.warnings
    assert warning.startswith(f"не удалось распознать срок «{text}» (непонятно: ")
    assert all(f"«{w}»" in warning.split("(непонятно: ")[1] for w in words), warning


def test_known_words_in_an_unknown_order_are_said_to_be_so():
    (warning,) = interpret("I, III кв.", Y2024).warnings
    assert "слова знакомы, но такое их сочетание грамматике неизвестно" in warning


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("3 квартал 2024 г.; 4 квартал 2024 г.", "(«3 квартал 2024», «4 квартал 2024»)"),
        ("20-25 января, 10-20 июня", "(«20-25 января», «10-20 июня»)"),
        ("30.11.2024 01.12.2024", "(«30.11.2024», «01.12.2024»)"),
        ("Декабрь 2024г. Февраль 2025г.", "(«декабрь 2024», «февраль 2025»)"),
    ],
)
def test_several_deadlines_in_one_wording_are_named_not_merged(text, parts):
    # Two deadlines or one span? Not guessed: the coordinator is told to split the item.
    result = interpret(text, Y2024)
    assert result.kind == "unscheduled" and result.occurrences == ()
    assert result.warnings == (f"не удалось распознать срок «{text}»: в нём несколько сроков {parts} — "
                               f"разделите пункт по срокам; дата не назначена",)


@pytest.mark.parametrize("text", ["2024/2026 учебный год", "3 раза в год", "с 20 по 5 ноября"])
def test_impossible_or_unclear_school_years_and_ranges_get_no_date(text):
    result = interpret(text, ACADEMIC)
    assert result.occurrences == ()
    assert result.warnings or result.errors


# --- part 2: the corpus of real wordings --------------------------------------------------

CORPUS_FILE = Path(__file__).parent / "data" / "deadline_corpus.yaml"
CORPUS = yaml.safe_load(CORPUS_FILE.read_text(encoding="utf-8"))


def _plan(spec: str) -> PlanPeriod:
    """«2024» or «2024-09-01..2025-08-31»."""
    if ".." in spec:
        start, end = spec.split("..")
        return PlanPeriod(D.fromisoformat(start), D.fromisoformat(end))
    return PlanPeriod.year(int(spec))


def _spans(result: Interpretation) -> list[str]:
    return [f"{o.opens.isoformat()}..{o.due.isoformat()}" for o in result.occurrences]


def test_corpus_is_large_and_from_many_documents():
    wordings = [e for doc in CORPUS["documents"] for e in doc["wordings"]]
    assert len(wordings) >= 150
    assert len({w["text"] for w in wordings}) == len(wordings), "each wording once"
    assert len(CORPUS["documents"]) >= 10
    assert all(doc["url"].startswith("http") for doc in CORPUS["documents"])


CASES = [(doc["plan"], w) for doc in CORPUS["documents"] for w in doc["wordings"]]


@pytest.mark.parametrize(("plan", "case"), CASES, ids=[c["text"] for _, c in CASES])
def test_corpus_wording(plan, case):
    result = interpret(case["text"], _plan(str(case.get("plan", plan))))
    assert result.kind == case["kind"], (result.kind, result.warnings)
    assert bool(result.errors) is case.get("error", False), result.errors  # a mistake in the document
    if case.get("error"):
        assert result.occurrences == ()
    elif case["kind"] == "unscheduled":
        assert result.occurrences == () and result.warnings
        unknown = case.get("unknown")
        if unknown:  # the warning names what was not understood
            named = result.warnings[-1].split("(непонятно: ")[1]
            assert all(f"«{w}»" in named for w in unknown), result.warnings
    else:
        assert _spans(result) == case["dates"], result.warnings
        assert bool(result.warnings) is bool(case.get("warned", False)), result.warnings


# --- the plan setting -----------------------------------------------------------------------

def test_a_plans_after_period_working_days_sets_po_itogam(write_plan):
    from nok_workflow.plan.describe import describe, interpretation_text
    from nok_workflow.plan.validate import load_plan
    from tests.support.plans import MINIMAL_PLAN

    text = MINIMAL_PLAN.replace("deadline: Январь", "deadline: по итогам квартала")
    default = load_plan(write_plan(text, "default.yaml"))
    five = load_plan(write_plan(text.replace("coordinator: otdel", "coordinator: otdel\nafter_period_working_days: 5"),
                                "five.yaml"))
    assert [o.due for o in default.compiled.items[0].occurrences][:1] == [D(2024, 4, 12)]
    assert [o.due for o in five.compiled.items[0].occurrences][:1] == [D(2024, 4, 5)]
    # the coordinator's check of the plan says which rule gave those dates
    assert "5 рабочих дней после его окончания" in interpretation_text(describe(five)["items"][0])
    assert five.warnings == ()
