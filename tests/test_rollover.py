"""`plan rollover`: the same plan for another year, with only the year-bearing values changed."""

from __future__ import annotations

import datetime as dt
import re
import difflib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nok_workflow.cli.rollover import rollover
from nok_workflow.files import write_atomically
from nok_workflow.plan import source
from nok_workflow.plan.rollover import Change, RolloverResult, rollover_text
from nok_workflow.plan.validate import LoadedPlan, load_plan, validate_document
from nok_workflow.problems import InputError
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN

BUNDLED = sorted(PLANS.glob("*.yaml"))


def roll(name: str, to_year: int) -> RolloverResult:
    path = PLANS / f"{name}.yaml"
    return rollover_text(path.read_text(encoding="utf-8"), str(path), to_year)


def reload(result: RolloverResult) -> LoadedPlan:
    return validate_document(source.parse(result.new_text, "new.yaml"))


def wording(loaded: LoadedPlan, key: str) -> str:
    item = next(c.item for c in loaded.compiled.items if c.key == key)
    return item.deadline if isinstance(item.deadline, str) else item.deadline.text


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a diff; a removed line pairs with ''."""
    pairs = []
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            a, b = old.splitlines()[i1:i2], new.splitlines()[j1:j2]
            pairs.extend(zip(a + [""] * (len(b) - len(a)), b + [""] * (len(a) - len(b)), strict=True))
    return pairs


def invoke(*args: str):
    # The command alone, as `nok plan rollover` will run it once it is registered.
    app = typer.Typer()
    app.command()(rollover)
    return CliRunner().invoke(app, list(args))


# --- bundled plans ------------------------------------------------------------------------

@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_each_bundled_plan_rolls_to_next_year_with_the_same_structure(path: Path):
    old = load_plan(path)
    result = rollover_text(path.read_text(encoding="utf-8"), str(path), old.plan.period.start.year + 1)
    new = reload(result)
    assert new.plan.period.start.year == old.plan.period.start.year + 1
    assert new.plan.period.end.year == old.plan.period.end.year + 1

    def shape(loaded: LoadedPlan) -> list[tuple]:
        # The plan's own years in titles and results move with it: compared as «<год N>».
        first = loaded.plan.period.start.year

        def text(value: str) -> str:
            return re.sub(r"(?<!\d)(?:19|20|21)\d\d(?!\d)",
                          lambda m: f"<год {int(m[0]) - first}>" if int(m[0]) in loaded.plan.period.years else m[0],
                          value)

        return [(c.key, text(c.item.title), c.item.owners, [text(r) for r in c.item.results], c.item.depends_on)
                for c in loaded.compiled.items]

    assert shape(new) == shape(old)
    assert new.plan.directory == old.plan.directory
    assert new.plan.approved_by == old.plan.approved_by
    assert result.new_text.splitlines()[0] == "# yaml-language-server: $schema=plan.schema.json"


def test_orenburg_2024_to_2025_by_hand():
    result = roll("orenburg-raion-2024", 2025)
    new = reload(result)
    assert (result.old_id, result.new_id, result.delta) == ("orenburg-raion-2024", "orenburg-raion-2025", 1)
    assert new.plan.id == "orenburg-raion-2025"
    assert (new.plan.period.start, new.plan.period.end) == (dt.date(2025, 9, 17), dt.date(2025, 12, 31))
    assert wording(new, "I.1") == "3 квартал 2025 г."
    assert wording(new, "II.1") == "Октябрь –декабрь 2025 г."
    assert wording(new, "III.2") == "I квартал 2026 г."
    assert wording(new, "III.3") == "В течение года"
    assert new.plan.title.endswith("Оренбургский район в 2025 году")
    assert new.plan.approval_act is None and "approval_act" not in result.new_text
    assert new.plan.approved_by == "Общественный совет"
    lines = result.new_text.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=plan.schema.json"
    assert lines[1].startswith("# Seed: ../shared/seeds/003_8330ca301da7825b.txt")
    assert "timezone: Asia/Yekaterinburg   # Оренбург, UTC+5" in lines
    # Nothing else moved: folded titles, flow lists and comments are as they were.
    old_text = (PLANS / "orenburg-raion-2024.yaml").read_text(encoding="utf-8")
    assert changed_lines(old_text, result.new_text) == [
        ("id: orenburg-raion-2024", "id: orenburg-raion-2025"),
        ("  образования Оренбургский район в 2024 году", "  образования Оренбургский район в 2025 году"),
        ("approval_act: Приложение № 1 к протоколу №1 от 17.09.2024 общественного совета", ""),
        ("  start: 2024-09-17", "  start: 2025-09-17"),
        ("  end: 2024-12-31", "  end: 2025-12-31"),
        ("        deadline: 3 квартал 2024 г.", "        deadline: 3 квартал 2025 г."),
        ("            проводиться НОКО в 2024 году и утверждении организации-оператора",
         "            проводиться НОКО в 2025 году и утверждении организации-оператора"),
        ("        deadline: 4 квартал 2024 г.", "        deadline: 4 квартал 2025 г."),
        ("        results: [Договор о проведении НОКО в ОО района в 2024 году]",
         "        results: [Договор о проведении НОКО в ОО района в 2025 году]"),
        *[(f"        deadline: {old}", f"        deadline: {new}") for _, old, new in result.changes[4:]],
    ]


def test_orenburg_report_lists_exactly_the_wordings_with_a_year():
    result = roll("orenburg-raion-2024", 2025)
    assert result.changes == [
        Change("I.1", "3 квартал 2024 г.", "3 квартал 2025 г."),
        Change("I.1, результат", "Протокол об утверждении перечня организаций, в отношении которых будет "
               "проводиться НОКО в 2024 году и утверждении организации-оператора",
               "Протокол об утверждении перечня организаций, в отношении которых будет "
               "проводиться НОКО в 2025 году и утверждении организации-оператора"),
        Change("I.2", "4 квартал 2024 г.", "4 квартал 2025 г."),
        Change("I.2, результат", "Договор о проведении НОКО в ОО района в 2024 году",
               "Договор о проведении НОКО в ОО района в 2025 году"),
        Change("II.1", "Октябрь –декабрь 2024 г.", "Октябрь –декабрь 2025 г."),
        Change("II.2", "Октябрь –декабрь 2024 г.", "Октябрь –декабрь 2025 г."),
        Change("II.3", "Октябрь –декабрь 2024 г.", "Октябрь –декабрь 2025 г."),
        Change("II.4", "Декабрь 2024 г.", "Декабрь 2025 г."),
        Change("II.5", "Декабрь 2024 г.", "Декабрь 2025 г."),
        Change("II.6", "Декабрь 2024 г.", "Декабрь 2025 г."),
        Change("III.1", "Декабрь 2024 г.", "Декабрь 2025 г."),
        Change("III.2", "I квартал 2025 г.", "I квартал 2026 г."),
    ]
    notes = "\n".join(result.notes)
    assert "в 2024 году» → «" in notes and "в 2025 году»" in notes  # the title
    assert "акт утверждения удалён" in notes and "17.09.2024" in notes
    # The results of I.1 and I.2 named 2024: moved with the plan, listed above for review.
    assert "не изменены" not in notes
    assert [w.message for w in result.warnings] == [
        "год 2026 в сроке «I квартал 2026 г.» вне периода плана (2025)"
    ]


def test_yuzhno_sakhalinsk_three_year_plan_moved_by_three_years():
    result = roll("yuzhno-sakhalinsk-2014-2016", 2017)
    new = reload(result)
    assert result.delta == 3 and result.new_id == "yuzhno-sakhalinsk-2017-2019"
    assert (new.plan.period.start, new.plan.period.end) == (dt.date(2017, 9, 1), dt.date(2019, 12, 31))
    assert wording(new, "3.1") == "до 20.11. 2018"
    assert wording(new, "3.2") == "до 20.11.2018"
    assert wording(new, "2.2") == "до 01.03.2018"
    assert wording(new, "1.1") == "До 10.09.2017"
    assert wording(new, "1.7") == "2017 год, далее-постоянно"
    assert wording(new, "4.5") == "Ежеквартально до 5 числа"
    assert [c.key for c in result.changes] == [
        "1.1", "1.2", "1.3", "1.4", "1.5", "1.7", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "4.1", "4.2"
    ]
    assert Change("3.1", "до 20.11. 2015", "до 20.11. 2018") in result.changes
    assert new.compiled.items[0].occurrences[0].due == dt.date(2017, 9, 10)


def test_gorod_2018_has_no_wording_with_a_year():
    result = roll("gorod-2018", 2019)
    old_text = (PLANS / "gorod-2018.yaml").read_text(encoding="utf-8")
    assert result.changes == []
    assert changed_lines(old_text, result.new_text) == [
        ("id: gorod-2018", "id: gorod-2019"),
        ("title: План мероприятий по независимой оценке качества образовательных учреждений на 2018 год",
         "title: План мероприятий по независимой оценке качества образовательных учреждений на 2019 год"),
        ("period: 2018", "period: 2019"),
    ]
    assert reload(result).compiled.items[0].occurrences[0].due == dt.date(2019, 1, 31)


def test_rolling_back_a_year():
    result = roll("orenburg-raion-2024", 2023)
    new = reload(result)
    assert result.delta == -1 and new.plan.id == "orenburg-raion-2023"
    assert new.plan.period.start == dt.date(2023, 9, 17)
    assert wording(new, "III.2") == "I квартал 2024 г."


# --- small plans --------------------------------------------------------------------------

def plan_with(deadlines: list[str], *, head: str = "", period: str = "2024") -> str:
    items = "".join(
        f'      - number: "{n}"\n        title: Пункт {n}\n        deadline: {d}\n        owners: [otdel]\n'
        for n, d in enumerate(deadlines, start=1)
    )
    text = MINIMAL_PLAN.replace("period: 2024", f"period: {period}")
    return head + text.split("      - number:")[0] + items


def test_leap_day_becomes_28_february_and_is_flagged():
    text = plan_with(['"до 29.02.2024"', "до 29 февраля 2024 г.", "до 28.02.2024"],
                     period="{start: 2024-02-29, end: 2024-12-31}")
    result = rollover_text(text, "p.yaml", 2025)
    new = reload(result)
    assert new.plan.period.start == dt.date(2025, 2, 28)
    assert 'deadline: "до 28.02.2025"' in result.new_text  # quotes kept
    assert wording(new, "1.2") == "до 28 февраля 2025 г."
    assert wording(new, "1.3") == "до 28.02.2025"
    flagged = [n for n in result.notes if "29.02.2025 не существует" in n]
    assert flagged == ["период: 29.02.2025 не существует — взято 28.02.2025",
                       "1.1: 29.02.2025 не существует — взято 28.02.2025",
                       "1.2: 29.02.2025 не существует — взято 28.02.2025"]
    # Into a leap year, 29 February stays.
    assert "до 29.02.2028" in rollover_text(text, "p.yaml", 2028).new_text


def test_date_formats_and_scalar_styles_are_kept():
    text = plan_with(["'до 01.03.24'", '"с 01.10.2024 по 15.10.2024"', "до 1 апреля 2025",
                      ">-\n          Декабрь\n          2024 г.", "Январь"])
    result = rollover_text(text, "p.yaml", 2026)
    new = reload(result)
    assert "deadline: 'до 01.03.26'" in result.new_text
    assert 'deadline: "с 01.10.2026 по 15.10.2026"' in result.new_text
    assert wording(new, "1.3") == "до 1 апреля 2027"
    assert "deadline: >-\n          Декабрь\n          2026 г." in result.new_text
    assert wording(new, "1.5") == "Январь"
    assert [c.key for c in result.changes] == ["1.1", "1.2", "1.3", "1.4"]
    assert new.compiled.items[0].occurrences[0].due == dt.date(2026, 3, 1)


def test_structured_deadline_text_and_dates_are_shifted():
    structured = "\n          text: до 10.10.2024\n          opens: 2024-10-01\n          due: 2024-10-10"
    result = rollover_text(plan_with([structured, "\n          every: quarter"]), "p.yaml", 2025)
    deadline = reload(result).compiled.items[0].item.deadline
    assert (deadline.text, deadline.opens, deadline.due) == ("до 10.10.2025", dt.date(2025, 10, 1),
                                                             dt.date(2025, 10, 10))
    assert result.changes == [Change("1.1", "до 10.10.2024", "до 10.10.2025"),
                              Change("1.1", "opens: 2024-10-01", "opens: 2025-10-01"),
                              Change("1.1", "due: 2024-10-10", "due: 2025-10-10")]


def test_multi_year_shorthand_stays_shorthand_and_id_without_year_gets_one():
    result = rollover_text(plan_with(["Январь"], period="{start: 2014, end: 2016}"), "p.yaml", 2020)
    assert "period: {start: 2020, end: 2022}" in result.new_text
    assert result.new_id == "test-plan-2020" and "id: test-plan-2020" in result.new_text
    assert any("добавлен: «test-plan-2020»" in n for n in result.notes)


def test_comments_around_the_removed_approval_act_survive():
    text = plan_with(["Январь"], head="# heading\n---\n").replace(
        "title: Тестовый план\n",
        "title: Тестовый план\napproval_act: Протокол №1 от 01.02.2024  # подписан\n\n# период:\n",
    )
    result = rollover_text(text, "p.yaml", 2025)
    assert result.new_text.startswith(
        "# heading\n---\nid: test-plan-2025\ntitle: Тестовый план\n\n# период:\nperiod: 2025\n"
    )
    assert "подписан" not in result.new_text


def test_comment_after_a_folded_approval_act_survives():
    text = MINIMAL_PLAN.replace(
        "period: 2024\n",
        "approval_act: >-\n  Протокол №1\n  от 01.02.2024\n# период:\nperiod: 2024\n",
    )
    result = rollover_text(text, "p.yaml", 2025)
    assert "title: Тестовый план\n# период:\nperiod: 2025\n" in result.new_text


def test_other_indentation_style_is_kept():
    # Sequences not indented under their key, mappings by two: a common hand-written style.
    text = (
        "id: plan-2024\ntitle: План\nperiod: 2024\ncoordinator: otdel\n"
        "directory:\n- id: otdel\n  name: Отдел образования\n"
        "sections:\n- number: '1.'\n  items:\n  - number: '1'\n    title: Пункт\n"
        "    deadline: Январь 2024 г.\n    owners:\n    - otdel\n"
    )
    result = rollover_text(text, "p.yaml", 2025)
    assert result.new_text == text.replace("2024", "2025")


def test_the_plans_own_years_in_titles_and_results_move_and_other_years_stay():
    text = (
        "id: plan-2024\ntitle: План\nperiod: 2024\ncoordinator: otdel\n"
        "directory:\n- id: otdel\n  name: Отдел образования\n"
        "sections:\n- number: '1.'\n  items:\n"
        "  - number: '1'\n    title: Мониторинг по закону от 29.12.2012 № 273-ФЗ за 2024 год\n"
        "    deadline: Январь\n    owners:\n    - otdel\n"
        "    results:\n    - Отчёт на 01.12.2024 по приказу 2019 года\n"
    )
    result = rollover_text(text, "p.yaml", 2025)
    assert result.changes == [
        Change("1.1, название", "Мониторинг по закону от 29.12.2012 № 273-ФЗ за 2024 год",
               "Мониторинг по закону от 29.12.2012 № 273-ФЗ за 2025 год"),
        Change("1.1, результат", "Отчёт на 01.12.2024 по приказу 2019 года",
               "Отчёт на 01.12.2025 по приказу 2019 года"),
    ]


# --- bad input ----------------------------------------------------------------------------

def test_same_year_is_refused():
    with pytest.raises(InputError) as exc:
        roll("gorod-2018", 2018)
    assert [p.message for p in exc.value.problems] == ["план уже на 2018 год"]


def test_year_out_of_range_is_refused():
    with pytest.raises(InputError, match="выходит за 1900–2200"):
        roll("yuzhno-sakhalinsk-2014-2016", 2199)


def test_invalid_plan_is_refused_and_nothing_written(write_plan, tmp_path: Path):
    plan = write_plan(MINIMAL_PLAN.replace("results:", "resluts:"))
    output = tmp_path / "new.yaml"
    result = invoke(str(plan), "--to-year", "2025", "-o", str(output))
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert "неизвестный ключ «resluts»" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]


def test_existing_output_needs_force(write_plan, tmp_path: Path):
    plan = write_plan(MINIMAL_PLAN)
    output = tmp_path / "new.yaml"
    output.write_text("старое\n", encoding="utf-8")
    result = invoke(str(plan), "--to-year", "2025", "-o", str(output))
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == f"{output}: файл уже существует; добавьте --force, чтобы перезаписать"
    assert output.read_text(encoding="utf-8") == "старое\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.yaml", "plan.yaml"]

    forced = invoke(str(plan), "--to-year", "2025", "-o", str(output), "--force")
    assert forced.exit_code == 0, forced.output
    assert load_plan(output).plan.id == "test-plan-2025"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.yaml", "plan.yaml"]


def test_command_prints_the_report(tmp_path: Path):
    output = tmp_path / "orenburg-raion-2025.yaml"
    result = invoke(str(PLANS / "orenburg-raion-2024.yaml"), "--to-year", "2025", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert "План orenburg-raion-2024 → orenburg-raion-2025 (сдвиг +1 год)" in result.stdout
    assert "Период: 17.09.2025 – 31.12.2025" in result.stdout
    report = "Проверьте сроки и тексты пунктов с явным годом:\n  I.1: «3 квартал 2024 г.» → «3 квартал 2025 г.»\n"
    assert report in result.stdout
    assert "III.3" not in result.stdout
    assert "акт утверждения удалён" in result.stdout
    assert "предупреждение: год 2026 в сроке «I квартал 2026 г.»" in result.stderr
    assert load_plan(output).plan.id == "orenburg-raion-2025"


def test_output_in_a_missing_or_non_directory_is_a_clear_error(write_plan, tmp_path: Path):
    plan = write_plan(MINIMAL_PLAN)
    result = invoke(str(plan), "--to-year", "2025", "-o", str(tmp_path / "no" / "new.yaml"))
    assert result.exit_code == 1
    assert "не существует" in str(result.exception)
    with pytest.raises(InputError, match="не каталог"):
        write_atomically(plan / "new.yaml", "x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]


def test_school_years_are_shifted_whole():
    # Issue 14: «2024/25» and «2024/2025» name one school year; both years move.
    text = plan_with(["2024/2025 учебный год", "в течение 2024/25 уч. года", "к началу 2024-2025 учебного года"],
                     period="{start: 2024-09-01, end: 2025-08-31}")
    result = rollover_text(text, "p.yaml", 2025)
    new = reload(result)
    assert [wording(new, k) for k in ("1.1", "1.2", "1.3")] == [
        "2025/2026 учебный год", "в течение 2025/26 уч. года", "к началу 2025-2026 учебного года"]
    assert new.compiled.items[0].occurrences[0].due == dt.date(2026, 8, 31)
    assert new.compiled.items[2].occurrences[0].due == dt.date(2025, 9, 1)
