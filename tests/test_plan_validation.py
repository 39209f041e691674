"""Plan validation: every kind of schema error is reported at its place, all at once."""

from __future__ import annotations

import re

import pytest

from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from tests.support.cli import run_nok
from tests.support.plans import MINIMAL_PLAN


def problems_of(path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_plan(path)
    return [str(p) for p in info.value.problems]


def test_minimal_plan_is_valid(write_plan):
    loaded = load_plan(write_plan(MINIMAL_PLAN))
    assert [ci.key for ci in loaded.compiled.items] == ["1.1"]
    assert loaded.warnings == ()


def test_unknown_key_is_an_error_with_its_line_and_column(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("        results:", "        resluts:"))
    assert problems_of(path) == [f"{path}:17:9: неизвестный ключ «resluts» (sections[1].items[1].resluts); проверьте написание"]


def test_all_errors_are_reported_at_once(write_plan):
    text = MINIMAL_PLAN.replace("coordinator: otdel", "coordinator: otdel\nfoo: 1").replace(
        "title: Формирование перечня", "titel: Формирование перечня"
    )
    problems = problems_of(write_plan(text))
    assert len(problems) == 3, problems
    assert any("неизвестный ключ «foo»" in p for p in problems)
    assert any("неизвестный ключ «titel»" in p for p in problems)
    assert any("не хватает обязательного ключа «title»" in p for p in problems)


def test_missing_required_key_points_at_the_mapping(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("coordinator: otdel\n", ""))
    assert problems_of(path) == [f"{path}:1:1: не хватает обязательного ключа «coordinator» (coordinator)"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("period: 2024", "period: двадцать", "period"),
        ("    email: otdel@example.org", "    email: not-an-address", "адрес электронной почты"),
        ('  - number: "1."', '  - number: "1.а"', "номер пункта пишется как в документе"),
        ("owners: [otdel]", "owners: [Отдел]", "ожидается id из справочника"),
        ("owners: [otdel]", "owners: otdel", "ожидается список"),
        ("deadline: Январь", "deadline: {due: 2024-13-01}", "недопустимое значение «2024-13-01»"),
        ("deadline: Январь", "deadline: {due: 2024-05-01, every: month}", "только одно из"),
        ("deadline: Январь", "deadline: {dew: 2024-05-01}", "неизвестный ключ «dew»"),
        ("period: 2024", "period: {start: 2025-01-01, end: 2024-01-01}", "позже end"),
        ("period: 2024", "period: 2024\ntimezone: Mars/Olympus", "неизвестный часовой пояс"),
        ("period: 2024", "period: {start: 1899-01-01, end: 1899-12-31}", "период плана 1899–1899 вне 1900–2200 годов"),
        ("period: 2024", "period: 2024\nreminders: {hour: 25}", "вне допустимых пределов"),
        ("period: 2024", "period: 2024\nescalation: {levels: [{after_days: 1, to: nobody}]}",
         "получатель эскалации «nobody» не найден"),
    ],
)
def test_schema_errors_are_clear(write_plan, old, new, expected):
    assert old in MINIMAL_PLAN
    problems = problems_of(write_plan(MINIMAL_PLAN.replace(old, new)))
    assert any(expected in p for p in problems), problems
    assert all(re.match(r".+:\d+:\d+: ", p) for p in problems), problems


def test_deadline_union_reports_only_the_meant_branch(write_plan):
    problems = problems_of(write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: {dew: 1}")))
    assert len(problems) == 1 and "неизвестный ключ «dew»" in problems[0], problems


ITEM_2 = """\
      - number: "2"
        title: Второй пункт
        deadline: Май
        owners: [otdel]
"""


def test_unknown_owner_id(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("owners: [otdel]", "owners: [otdel, imc]"))
    assert problems_of(path) == [f"{path}:16:25: исполнитель «imc» не найден в справочнике (directory)"]


def test_unknown_group_reference(write_plan):
    problems = problems_of(write_plan(MINIMAL_PLAN.replace("owners: [otdel]", "owners: ['@schools']")))
    assert problems == [problems[0]] and "группа организаций «@schools» не описана" in problems[0]


def test_duplicate_item_number(write_plan):
    path = write_plan(MINIMAL_PLAN + ITEM_2.replace('"2"', '"1."'))
    assert problems_of(path) == [f"{path}:18:9: номер пункта «1.» повторяется (пункт 1.1 уже есть)"]


def test_item_numbers_are_unique_only_with_their_section(write_plan):
    text = MINIMAL_PLAN + """\
  - number: "2."
    title: Проведение
    items:
      - number: "1"
        title: Другой пункт с тем же номером
        owners: [otdel]
        depends_on: ["1.1"]
"""
    loaded = load_plan(write_plan(text))
    assert [ci.key for ci in loaded.compiled.items] == ["1.1", "2.1"]


def test_dependency_cycle(write_plan):
    text = (MINIMAL_PLAN.replace("results: [Перечень учреждений]", "results: [Перечень]\n        depends_on: ['1.2']")
            + ITEM_2 + "        depends_on: ['1.1']\n")
    problems = problems_of(write_plan(text))
    assert len(problems) == 1 and "циклическая зависимость пунктов: 1.1 → 1.2 → 1.1" in problems[0]


def test_unknown_dependency(write_plan):
    problems = problems_of(write_plan(MINIMAL_PLAN + "        depends_on: ['9.9']\n"))
    assert len(problems) == 1 and "depends_on: пункта «9.9» нет в плане" in problems[0]


def test_escalation_cycle(write_plan):
    text = MINIMAL_PLAN.replace(
        "    email: otdel@example.org\n",
        "    email: otdel@example.org\n    escalates_to: imc\n  - id: imc\n    name: МКУ «ИМЦ»\n    escalates_to: otdel\n",
    )
    problems = problems_of(write_plan(text))
    assert len(problems) == 1 and "цикл в escalates_to" in problems[0], problems


def test_impossible_date_in_a_wording_is_an_error(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: до 31.02.2024"))
    assert problems_of(path) == [
        f"{path}:15:9: невозможная дата в сроке «до 31.02.2024»: 31.02.2024"
    ]


def test_impossible_yaml_date(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: {due: 2024-02-31}"))
    assert problems_of(path) == [f"{path}:15:25: недопустимое значение «2024-02-31»: такой даты не существует"]


def test_uncertain_wording_is_a_warning_not_an_error(write_plan):
    loaded = load_plan(write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: Согласно плану работы")))
    assert [w.line for w in loaded.warnings] == [15]
    assert loaded.compiled.items[0].interpretation.kind == "unscheduled"


def test_relative_deadline_names_its_anchor(write_plan):
    text = MINIMAL_PLAN + ITEM_2.replace(
        "deadline: Май",
        "deadline:\n          text: в течение одного месяца со дня получения отчета оператора\n          after: '1.1'",
    )
    loaded = load_plan(write_plan(text))
    item = loaded.compiled.items[1]
    assert item.interpretation.kind == "relative"
    assert (item.interpretation.relative.amount, item.interpretation.relative.unit,
            item.interpretation.relative.after) == (1, "months", "1.1")
    assert loaded.warnings == ()


# --- files that are not plans at all ------------------------------------------------------

def test_malformed_yaml(write_plan):
    path = write_plan("id: x\ntitle: [unclosed\nperiod: 2024\n")
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:3:7: ошибка синтаксиса YAML")


def test_duplicate_yaml_key(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("period: 2024\n", "period: 2024\nperiod: 2025\n"))
    assert problems_of(path) == [f"{path}:4:1: ключ «period» повторяется"]


def test_alias_bomb_is_refused_quickly(write_plan):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 10) + "]")
    problems = problems_of(write_plan("\n".join(lines) + "\n"))
    assert len(problems) == 1 and "слишком много раскрываемых ссылок YAML" in problems[0]


def test_recursive_alias_is_refused(write_plan):
    problems = problems_of(write_plan("a: &a [*a]\n"))
    assert len(problems) == 1 and ("рекурсивная ссылка" in problems[0] or "YAML" in problems[0])


def test_not_utf8(tmp_path):
    path = tmp_path / "cp1251.yaml"
    path.write_bytes(MINIMAL_PLAN.encode("cp1251"))
    assert problems_of(path) == [
        f"{path}:2:8: файл не в кодировке UTF-8 (байт 0xd2); похоже на Windows-1251 — пересохраните файл в UTF-8"
    ]


def test_empty_file_and_missing_file(tmp_path, write_plan):
    assert problems_of(write_plan("")) == [f"{tmp_path / 'plan.yaml'}: файл пуст"]
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: файл не найден"]


def test_python_tags_are_not_executed(write_plan):
    path = write_plan("id: !!python/object/apply:os.system ['echo pwned']\n")
    assert problems_of(path) == [f"{path}:1:5: неподдерживаемый тег YAML «tag:yaml.org,2002:python/object/apply:os.system»"]
    scalar = write_plan("id: !!python/name:os.system x\n", "scalar.yaml")
    assert len(problems_of(scalar)) == 1 and "недопустимое значение" in problems_of(scalar)[0]


def test_a_list_instead_of_a_plan(write_plan):
    problems = problems_of(write_plan("- 1\n- 2\n"))
    assert problems == [f"{write_plan('- 1').parent / 'plan.yaml'}:1:1: ожидается описание плана (ключи id, title, period, …)"]


# --- the command, in a real process --------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize(
    "content",
    [
        b"id: x\ntitle: [unclosed\n",
        MINIMAL_PLAN.encode("cp1251"),
        b"a: &a [*a]\n",
        MINIMAL_PLAN.replace("owners: [otdel]", "owners: [nobody]").encode(),
        MINIMAL_PLAN.replace("deadline: \u042f\u043d\u0432\u0430\u0440\u044c", "deadline: 31.02.2024").encode(),
    ],
)
def test_validate_command_fails_cleanly(tmp_path, content):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    result = run_nok("plan", "validate", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", result.stderr), result.stderr


@pytest.mark.slow
def test_validate_command_reports_each_file(tmp_path, write_plan):
    good = write_plan(MINIMAL_PLAN, "good.yaml")
    bad = write_plan(MINIMAL_PLAN.replace("title: Тестовый план", "titel: x"), "bad.yaml")
    result = run_nok("plan", "validate", str(good), str(bad))
    assert result.returncode == 1
    assert "✓" in result.stdout and "good.yaml" in result.stdout
    assert f"{bad}:2:1: неизвестный ключ «titel»" in result.stderr
    assert "Ошибки в 1 файле из 2" in result.stderr


@pytest.mark.slow
def test_strict_turns_warnings_into_failure(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: по мере необходимости"))
    assert run_nok("plan", "validate", str(path)).returncode == 0
    assert run_nok("plan", "validate", "--strict", str(path)).returncode == 1


def test_problems_come_in_file_order(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: до 31.02.2024")
                      .replace("owners: [otdel]", "owners: [nobody]"))
    assert [(p.split(":")[1], p.split(":")[2]) for p in problems_of(path)] == [("15", "9"), ("16", "18")]


# --- schema errors and cross-reference errors in one run (issue 10, item 9) ----------------

def test_the_readme_example_shows_all_three_errors_in_file_order(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("        results:", "        resluts:")
                      .replace("owners: [otdel]", "owners: [otdel, imc]")
                      .replace("deadline: Январь", "deadline: до 31.02.2024"))
    assert problems_of(path) == [
        f"{path}:15:9: невозможная дата в сроке «до 31.02.2024»: 31.02.2024",
        f"{path}:16:25: исполнитель «imc» не найден в справочнике (directory)",
        f"{path}:17:9: неизвестный ключ «resluts» (sections[1].items[1].resluts); проверьте написание",
    ]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # an invalid optional value is set aside, the entry is still checked against
        ([("    email: otdel@example.org", "    email: nope"), ("owners: [otdel]", "owners: [otdel, imc]")],
         ["8:5: directory[1].email: недопустимое значение «nope»: ожидается адрес электронной почты",
          "16:25: исполнитель «imc» не найден в справочнике (directory)"]),
        # a broken required top-level value: the rest is still checked, the value itself not again
        ([("coordinator: otdel", "coordinator: Отдел"), ("owners: [otdel]", "owners: [imc]")],
         ["4:1: coordinator: недопустимое значение «Отдел»: идентификатор пишется латинскими строчными "
          "буквами, цифрами и знаками _ - .", "16:18: исполнитель «imc» не найден в справочнике (directory)"]),
        # a broken period: no deadline is judged against a period that is not there
        ([("period: 2024", "period: {start: 2025-01-01, end: 2024-01-01}"), ("deadline: Январь", "deadline: до 1.1.2030"),
          ("owners: [otdel]", "owners: [imc]")],
         ["3:1: period: start (2025-01-01) позже end (2024-01-01)",
          "16:18: исполнитель «imc» не найден в справочнике (directory)"]),
        # a typo inside a structured deadline does not hide its unknown anchor item
        ([("deadline: Январь", "deadline: {text: после согласования, after: '7.7', dew: 1}")],
         ["15:46: after: пункта «7.7» нет в плане",
          "15:60: неизвестный ключ «dew» (sections[1].items[1].deadline.dew); проверьте написание"]),
        # a key typo and a year far outside the plan
        ([("        results:", "        resluts:"), ("deadline: Январь", "deadline: до 7.12.74")],
         ["15:9: год 1974 в сроке «до 7.12.74» вне периода плана (2024) больше чем на год: допустимы 2023–2025",
          "17:9: неизвестный ключ «resluts» (sections[1].items[1].resluts); проверьте написание"]),
    ],
)
def test_schema_errors_do_not_hide_cross_reference_errors(write_plan, edits, expected):
    text = MINIMAL_PLAN
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = write_plan(text)
    assert problems_of(path) == [f"{path}:{line}" for line in expected]


def test_item_positions_survive_a_dropped_item(write_plan):
    # Item 1 cannot be checked (no title); item 3's problem must still point at item 3.
    text = (MINIMAL_PLAN.replace("        title: Формирование перечня\n", "") + ITEM_2
            + ITEM_2.replace('"2"', '"3"').replace("owners: [otdel]", "owners: [imc]"))
    path = write_plan(text)
    assert problems_of(path) == [
        f"{path}:13:9: не хватает обязательного ключа «title» (sections[1].items[1].title)",
        f"{path}:24:18: исполнитель «imc» не найден в справочнике (directory)",
    ]


def test_references_to_what_a_schema_error_set_aside_are_not_reported(write_plan):
    text = MINIMAL_PLAN.replace("        title: Формирование перечня\n", "") + ITEM_2 + "        depends_on: ['1.1']\n"
    text = text.replace("    email: otdel@example.org\n",
                        "    email: otdel@example.org\n    escalates_to: imc\n  - id: imc\n")
    text = text.replace("deadline: Май\n        owners: [otdel]", "deadline: Май\n        owners: [otdel, imc]")
    path = write_plan(text)
    # Item 1.1 (no title) and the entry «imc» (no name) cannot be checked: depending on them,
    # escalating to them or naming them as owners is not a second error.
    assert problems_of(path) == [
        f"{path}:10:5: не хватает обязательного ключа «name» (directory[2].name)",
        f"{path}:15:9: не хватает обязательного ключа «title» (sections[1].items[1].title)",
    ]
    # Without the set-aside entries, the same references are errors.
    fixed = write_plan(text.replace("  - id: imc\n", "").replace("      - number: \"1\"\n",
                                                                 "      - number: \"1\"\n        title: Т\n"),
                       "fixed.yaml")
    assert [p.split(": ", 1)[1] for p in problems_of(fixed)] == [
        "escalates_to: «imc» нет в справочнике",
        "исполнитель «imc» не найден в справочнике (directory)",
    ]


def test_a_missing_directory_is_not_followed_by_every_owner_unknown(write_plan):
    path = write_plan(MINIMAL_PLAN.replace("directory:", "directroy:") + ITEM_2)
    assert problems_of(path) == [
        f"{path}:1:1: не хватает обязательного ключа «directory» (directory)",
        f"{path}:5:1: неизвестный ключ «directroy» (directroy); проверьте написание",
    ]


def test_a_dropped_group_is_not_reported_again_where_it_is_used(write_plan):
    text = MINIMAL_PLAN.replace("sections:", "groups:\n  - {id: ou}\norganisations:\n"
                                "  - {id: sosh-1, name: СОШ № 1, group: ou}\nsections:")
    text = text.replace("owners: [otdel]", "owners: ['@ou']")
    path = write_plan(text)
    assert problems_of(path) == [f"{path}:10:5: не хватает обязательного ключа «name» (groups[1].name)"]


# --- years and ranges in deadlines (issue 10, item 5) ---------------------------------------

@pytest.mark.parametrize(
    ("deadline", "message"),
    [
        ("до 01.01.0001", "год 0001 в сроке «до 01.01.0001» вне периода плана (2024) больше чем на год: "
                          "допустимы 2023–2025"),
        ("с 15.10.2024 по 01.10.2024", "начало позже окончания в сроке «с 15.10.2024 по 01.10.2024»: "
                                       "15.10.2024 позже 01.10.2024"),
        ("{due: 2099-04-01}", "год 2099 в сроке «due: 2099-04-01» вне периода плана (2024) больше чем на год: "
                              "допустимы 2023–2025"),
        ("{opens: 2020-01-01, due: 2024-04-01}", "год 2020 в сроке «opens: 2020-01-01» вне периода плана (2024) "
                                                 "больше чем на год: допустимы 2023–2025"),
    ],
)
def test_certainly_wrong_deadlines_are_errors(write_plan, deadline, message):
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", f"deadline: {deadline}"))
    assert problems_of(path) == [f"{path}:15:9: {message}"]


@pytest.mark.parametrize(
    ("deadline", "warning"),
    [
        ("до 01.12.2025", "год 2025 в сроке «до 01.12.2025» вне периода плана (2024)"),
        ("{due: 2025-03-31}", "год 2025 в сроке «due: 2025-03-31» вне периода плана (2024)"),
        ("до 01.12.24", "год «24» в сроке «до 01.12.24» записан двумя цифрами; принят 2024 — проверьте"),
    ],
)
def test_deadlines_just_outside_the_plan_or_with_two_digit_years_are_warnings(write_plan, deadline, warning):
    loaded = load_plan(write_plan(MINIMAL_PLAN.replace("deadline: Январь", f"deadline: {deadline}")))
    assert [(w.line, w.column, w.message) for w in loaded.warnings] == [(15, 9, warning)]
    assert loaded.compiled.items[0].occurrences


def test_warnings_of_a_wording_with_an_error_are_not_turned_into_errors(write_plan):
    # «74» is warned about as two digits, and the year it gives is the error: one error only.
    path = write_plan(MINIMAL_PLAN.replace("deadline: Январь", "deadline: до 7.12.74"))
    assert problems_of(path) == [
        f"{path}:15:9: год 1974 в сроке «до 7.12.74» вне периода плана (2024) больше чем на год: допустимы 2023–2025"
    ]
