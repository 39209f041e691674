"""The `nok` commands as a user runs them, in a real process."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_nok
from tests.support.paths import PLANS

pytestmark = pytest.mark.slow  # every test runs the real `nok` in a process


def test_deadline_json_contract():
    result = run_nok("deadline", "3 квартал 2024 г.", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "window"
    assert data["occurrences"] == [{"opens": "2024-07-01", "due": "2024-09-30", "period": "2024-Q3"}]
    assert data["warnings"] == []


def test_deadline_without_year_takes_the_year_of_now():
    result = run_nok("deadline", "ежемесячно", "--json", "--now", "2026-11-23")
    data = json.loads(result.stdout)
    assert [o["period"] for o in data["occurrences"]] == [f"2026-{m:02d}" for m in range(1, 13)]
    by_env = run_nok("deadline", "Май", "--json", env={"NOK_NOW": "2019-02-01T10:00"})
    assert json.loads(by_env.stdout)["occurrences"][0]["due"] == "2019-05-31"


def test_deadline_year_option_wins():
    data = json.loads(run_nok("deadline", "Ежеквартально до 5 числа", "--year", "2015", "--json").stdout)
    assert [o["due"] for o in data["occurrences"]] == ["2015-04-05", "2015-07-05", "2015-10-05", "2016-01-05"]


def test_deadline_human_output_names_the_warning():
    result = run_nok("deadline", "примерно в мае", "--year", "2024")
    assert result.returncode == 0
    assert "unscheduled" in result.stdout
    assert "не удалось распознать срок «примерно в мае»" in result.stdout


@pytest.mark.parametrize("bad", ["завтра", "2024-13-01", "23.11.2026"])
def test_bad_now_is_a_clear_error(bad):
    result = run_nok("deadline", "Май", "--now", bad)
    assert result.returncode == 1
    assert f"«{bad}» — не дата" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("bad", "year"), [("9999-12-30", 9999), ("0001-01-01", 1), ("1969-12-31T23:00", 1969),
                                          ("2201-01-01", 2201)])
def test_now_outside_1970_2200_is_a_clear_error(bad, year):
    result = run_nok("deadline", "Май", "--now", bad)
    assert result.returncode == 1
    assert f"--now: «{bad}» — год {year} вне 1970–2200" in result.stderr and "Traceback" not in result.stderr


def test_plan_show_json_lists_every_item_with_its_interpretation():
    result = run_nok("plan", "show", str(PLANS / "orenburg-raion-2024.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == "orenburg-raion-2024"
    first = data["items"][0]
    assert first["key"] == "I.1" and first["number"] == "1"
    assert first["occurrences"] == [{"opens": "2024-07-01", "due": "2024-09-30", "period": "2024-Q3"}]
    assert first["owners"] == [{"id": "sovet", "name": "Общественный совет"}]
    last = data["items"][-1]
    assert last["kind"] == "ongoing"
    assert [o["opens"] for o in last["occurrences"]] == ["2024-09-17", "2024-10-01"]


def test_plan_show_human_output():
    result = run_nok("plan", "show", str(PLANS / "gorod-2018.yaml"))
    assert result.returncode == 0, result.stderr
    assert "1.4 Обеспечение размещения и обновления" in result.stdout
    assert "Срок: «Январь» → в период, 2018-01: 01.01.2018 – 31.01.2018" in result.stdout
    assert "Образовательные учреждения (отвечает каждая организация группы: 3)" in result.stdout
    # Warnings keep their place intact (no emoji for ":100:", no line breaks inside).
    assert "gorod-2018.yaml:100:9: предупреждение: срок не указан" in result.stderr


def test_validate_all_bundled_plans():
    bundled = sorted(PLANS.glob("*.yaml"))
    result = run_nok("plan", "validate", *map(str, bundled))
    assert result.returncode == 0, result.stderr
    assert len(bundled) == 5 and result.stdout.count("✓") == len(bundled)


def test_grammar_commands_do_not_load_the_store_layer():
    import subprocess
    import sys

    code = "import sys, nok_workflow.cli; print('sqlalchemy' in sys.modules, 'prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
