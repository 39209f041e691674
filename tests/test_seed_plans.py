"""The four seed plans as YAML: valid, and matching their source documents row by row.

Expectations are written out by hand from the seeds (tests/seeds/), not produced by the code.
"""

from __future__ import annotations

import re

import pytest

from nok_workflow.plan.describe import describe
from nok_workflow.plan.validate import load_plan
from tests.support.paths import PLANS, SEEDS

SEED_OF = {
    "gorod-2018.yaml": "000_7e7f63a8ee2e07d3.txt",
    "yuzhno-sakhalinsk-2014-2016.yaml": "001_664c19aa17612197.txt",
    "orenburg-raion-2024.yaml": "003_8330ca301da7825b.txt",
    "informing-2026.yaml": "004_6701f37071a9af0c.txt",
}

DEADLINES = {
    "gorod-2018.yaml": {
        "1.1": "Январь", "1.2": "постоянно", "1.3": "Январь", "1.4": "постоянно",
        "1.5": "постоянно", "2.1": "постоянно", "2.2": "", "2.3": "Май", "2.4": "Декабрь",
        "2.5": "Декабрь", "2.6": "Декабрь", "2.7": "Декабрь",
        "2.8": "Согласно плану работы отдела образования, МКУ «ИМЦ»", "3.1": "", "3.2": "",
    },
    "yuzhno-sakhalinsk-2014-2016.yaml": {
        "1.1": "До 10.09.2014", "1.2": "До 01.10.2014", "1.3": "До 15.09.2014",
        "1.4": "До 15.10.2014", "1.5": "до 15.10.2014", "1.7": "2014 год, далее-постоянно",
        "1.8": "постоянно", "2.1": "до 20.10.2014", "2.2": "до 01.03.2015", "2.3": "до 25.10.2014",
        "3.1": "до 20.11. 2015", "3.2": "до 20.11.2015", "3.3": "до 01.12.2015",
        "4.1": "До 01.02.2016", "4.2": "До 01.03.2016", "4.5": "Ежеквартально до 5 числа",
        "4.6": "Ежеквартально",
    },
    "orenburg-raion-2024.yaml": {
        "I.1": "3 квартал 2024 г.", "I.2": "4 квартал 2024 г.", "II.1": "Октябрь –декабрь 2024 г.",
        "II.2": "Октябрь –декабрь 2024 г.", "II.3": "Октябрь –декабрь 2024 г.",
        "II.4": "Декабрь 2024 г.", "II.5": "Декабрь 2024 г.", "II.6": "Декабрь 2024 г.",
        "III.1": "Декабрь 2024 г.", "III.2": "I квартал 2025 г.", "III.3": "В течение года",
    },
    "informing-2026.yaml": {
        "1": "апрель", "2": "в течение года", "3": "ежемесячно", "4": "Март", "5": "Апрель",
        "6": "В течение года", "7": "ежемесячно", "8": "1 раз в кв.", "9": "В течение года",
        "10": "В течение года", "11": "В течение года",
    },
}  # fmt: skip

DEP, MOO = "Департамент образования", "Муниципальные образовательные организации"
MOUO, HEADS = "Руководители органов управления образованием", "Руководители образовательных организаций"
OPERATOR = "Организация-оператор ОГАУ «УО ЦСНК»"  # item 3 says only «Организация-оператор»: same body
OWNERS = {
    "gorod-2018.yaml": {
        "1.1": ["Общественный совет"], "1.2": ["Новикова И.В."], "1.3": ["Общественный совет"],
        "1.4": ["Образовательные учреждения"], "1.5": ["МКУ «ИМЦ»"],
        "2.1": ["Городской Пресс-центр системы образования", "Новикова И.В."],
        "2.2": ["Отдел образования", "МКУ «ИМЦ»"], "2.3": ["Отдел образования", "МКУ «ИМЦ»"],
        "2.4": ["Новикова И.В."], "2.5": ["Новикова И.В."], "2.6": ["Общественный совет"],
        "2.7": ["Общественный совет"], "2.8": ["Отдел образования", "МКУ «ИМЦ»"],
        "3.1": ["Отдел образования"], "3.2": ["Образовательные учреждения"],
    },
    "yuzhno-sakhalinsk-2014-2016.yaml": {
        "1.1": [DEP], "1.2": ["Администрация города", DEP], "1.3": [DEP, MOO], "1.4": [DEP, MOO],
        "1.5": [DEP, MOO], "1.7": [DEP], "1.8": [DEP], "2.1": ["Общественный совет", DEP],
        "2.2": ["Общественный совет"], "2.3": ["Общественный совет"], "3.1": [DEP], "3.2": [DEP],
        "3.3": [DEP], "4.1": [DEP], "4.2": [DEP], "4.5": [MOO, DEP], "4.6": [DEP],
    },
    "informing-2026.yaml": {
        "1": [MOUO, HEADS], "2": [MOUO, HEADS], "3": [OPERATOR], "4": [OPERATOR, MOUO, HEADS],
        "5": [MOUO, HEADS], "6": [HEADS], "7": [OPERATOR], "8": [OPERATOR], "9": [HEADS],
        "10": [HEADS], "11": [OPERATOR, "ОГАУ ЦИТ"],
    },
    "orenburg-raion-2024.yaml": {
        "I.1": ["Общественный совет"], "I.2": ["Общественный совет"],
        "II.1": ["Организация-оператор"], "II.2": ["Организация-оператор"],
        "II.3": ["Организация-оператор"], "II.4": ["Общественный совет", "Организация-оператор"],
        "II.5": ["Общественный совет"], "II.6": ["Организация-оператор"],
        "III.1": ["Общественный совет"], "III.2": ["Управление образования"],
        "III.3": ["Организация-оператор"],
    },
}  # fmt: skip

EXPECTED_KINDS = {
    "Январь": "window", "Май": "window", "Декабрь": "window", "постоянно": "ongoing",
    "": "unscheduled", "Ежеквартально": "recurring", "Ежеквартально до 5 числа": "recurring",
    "2014 год, далее-постоянно": "ongoing", "В течение года": "ongoing",
    "в течение года": "ongoing", "ежемесячно": "recurring", "1 раз в кв.": "recurring",
}  # fmt: skip


def _words(text: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", text).lower().replace("ё", "е")
    return re.findall(r"\w+", text)


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(word in it for word in needle)


@pytest.fixture(scope="module", params=sorted(SEED_OF), ids=str)
def seed(request):
    name = request.param
    return name, describe(load_plan(PLANS / name)), (SEEDS / SEED_OF[name]).read_text(encoding="utf-8")


def test_every_item_and_its_deadline_wording_verbatim(seed):
    name, plan, _ = seed
    assert {i["key"]: i["deadline"] for i in plan["items"]} == DEADLINES[name]


def test_titles_and_results_come_from_the_seed(seed):
    """Every word of every title and result stands in the seed, in order (cells may spill)."""
    _, plan, text = seed
    words = _words(text)
    for item in plan["items"]:
        for cell in [item["title"], *item["results"]]:
            assert _is_subsequence(_words(cell), words), (item["key"], cell)


def test_owners_as_in_the_seed(seed):
    name, plan, _ = seed
    assert {i["key"]: [o["name"] for o in i["owners"]] for i in plan["items"]} == OWNERS[name]


def test_seed_wordings_are_understood(seed):
    _, plan, _ = seed
    for item in plan["items"]:
        wording = item["deadline"]
        if wording in EXPECTED_KINDS:
            assert item["kind"] == EXPECTED_KINDS[wording], item
        if item["kind"] != "unscheduled":
            assert item["occurrences"], item
        else:
            assert item["warnings"], item


def test_numbering_gaps_are_kept():
    keys = [i.key for i in load_plan(PLANS / "yuzhno-sakhalinsk-2014-2016.yaml").compiled.items]
    assert "1.6" not in keys and "4.3" not in keys and "4.4" not in keys
    assert keys[5:7] == ["1.7", "1.8"]


def test_then_ongoing_in_the_three_year_plan():
    items = {i.key: i for i in load_plan(PLANS / "yuzhno-sakhalinsk-2014-2016.yaml").compiled.items}
    occ = items["1.7"].occurrences
    assert (occ[0].due.isoformat(), occ[0].period) == ("2014-12-31", "2014")
    assert [o.period for o in occ[1:]] == [f"{y}-Q{q}" for y in (2015, 2016) for q in (1, 2, 3, 4)]
    quarterly = items["4.5"].occurrences
    assert [o.due.isoformat() for o in quarterly][:2] == ["2014-10-05", "2015-01-05"]
    assert len(quarterly) == 10  # Q3 2014 … Q4 2016


def test_orenburg_out_of_period_year_is_warned():
    loaded = load_plan(PLANS / "orenburg-raion-2024.yaml")
    assert [w.message for w in loaded.warnings] == [
        "год 2025 в сроке «I квартал 2025 г.» вне периода плана (2024)"
    ]
