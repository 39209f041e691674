"""`nok plan import`: the four seeds — as text and as Word documents — give the checked plans.

The .docx files are built (tests/support/plan_documents.py) with python-docx from the checked
YAML, ruled and landscape, with the quirks of real Word plans: the seed's column order, section rows merged across the table, a long
row split over a page (its number cell empty), the header repeated in a second table,
several owners as separate paragraphs of one cell. Also: the document's own years beat
`--year`, and owners that look like one party are reported (merged only by a directory alias).
Refused inputs are in test_bad_input_import.py; the same plans as PDF, .xlsx, .ods and .odt in
test_import_formats.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nok_workflow.importer.build import import_plan, load_directory
from nok_workflow.importer.similar import probably_same
from nok_workflow.plan.compiled import deadline_text
from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from tests.support.cli import run_nok
from tests.support.paths import PLANS, SEEDS
from tests.support.plan_documents import CASES, build_docx

def item_rows(plan_path: Path) -> list[tuple]:
    """(key, number, title, deadline wording, owners, results) of every item, in order."""
    compiled = load_plan(plan_path).compiled
    return [(ci.key, ci.item.number, ci.item.title, deadline_text(ci.item), list(ci.item.owners),
             list(ci.item.results)) for ci in compiled.items]


def imported_rows(document: Path, checked: Path, year: int | None) -> list[tuple]:
    result = import_plan(document, output_name="imported.yaml", year=year,
                         directory=load_directory(checked))
    return [(ci.key, ci.item.number, ci.item.title, deadline_text(ci.item), list(ci.item.owners),
             list(ci.item.results)) for ci in result.plan.compiled.items]


@pytest.mark.parametrize("checked", sorted(CASES), ids=str)
def test_text_seed_imports_to_the_checked_plan(checked):
    seed, year, _ = CASES[checked]
    assert imported_rows(SEEDS / seed, PLANS / checked, year) == item_rows(PLANS / checked)


@pytest.mark.parametrize("checked", sorted(CASES), ids=str)
def test_docx_imports_to_the_checked_plan(checked, tmp_path):
    _, year, columns = CASES[checked]
    document = build_docx(PLANS / checked, columns, tmp_path / "plan.docx")
    assert imported_rows(document, PLANS / checked, year) == item_rows(PLANS / checked)


def test_title_and_approval_act_come_from_the_preamble():
    result = import_plan(SEEDS / CASES["orenburg-raion-2024.yaml"][0], output_name="p.yaml")
    assert result.plan.plan.approval_act == "Приложение № 1 к протоколу №1 от 17.09.2024 общественного совета"
    assert result.plan.plan.title == load_plan(PLANS / "orenburg-raion-2024.yaml").plan.title
    assert result.plan.plan.period.start.isoformat() == "2024-01-01"


def test_without_a_directory_owners_become_entries_and_groups():
    result = import_plan(SEEDS / CASES["gorod-2018.yaml"][0], output_name="gorod.yaml")
    plan = result.plan.plan
    owners = {ci.key: result.plan.compiled.owner_names(ci.item) for ci in result.plan.compiled.items}
    assert owners["2.1"] == ["Городской Пресс-центр системы образования", "Новикова И.В."]
    assert owners["1.4"] == ["Образовательные учреждения"]
    assert [g.id for g in plan.groups] == ["ou"]
    assert next(e for e in plan.directory if e.name == "Новикова И.В.").kind == "person"
    assert plan.coordinator == next(e.id for e in plan.directory if e.name == "Отдел образования")
    assert any("в группе «@ou» нет ни одной организации" in w for w in result.report.warnings)


def test_report_names_guessed_owner_splits_and_uncertain_wordings():
    result = import_plan(SEEDS / CASES["yuzhno-sakhalinsk-2014-2016.yaml"][0], output_name="ys.yaml")
    assert any(n.startswith("строка 32: ячейка «Муниципальные образовательные организации Департамент "
                            "образования» без запятой разделена по догадке") for n in result.report.notes)
    assert "период плана определён по срокам пунктов: 2014–2016 — проверьте" in result.report.notes
    gorod = import_plan(SEEDS / CASES["gorod-2018.yaml"][0], output_name="g.yaml")
    assert sum("срок не указан" in w for w in gorod.report.warnings) == 3
    assert any("Согласно плану работы" in w for w in gorod.report.warnings)
    assert gorod.report.rows == 15 and gorod.report.sections == 3


@pytest.mark.slow
def test_command_writes_a_plan_that_validates(tmp_path):
    out = tmp_path / "orenburg.yaml"
    result = run_nok("plan", "import", str(SEEDS / CASES["orenburg-raion-2024.yaml"][0]), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "импортировано 11 пунктов в 3 разделах" in result.stdout
    assert run_nok("plan", "validate", str(out)).returncode == 0
    again = run_nok("plan", "import", str(SEEDS / CASES["orenburg-raion-2024.yaml"][0]), "-o", str(out))
    assert again.returncode == 1 and "файл уже существует" in again.stderr


def test_seed_without_year_needs_one(tmp_path):
    with pytest.raises(InputError) as info:
        import_plan(SEEDS / CASES["informing-2026.yaml"][0], output_name="x.yaml")
    assert "в документе не указан год плана" in str(info.value)


# --- the year: the document's own years win; --year only fills in a missing one ------------

def _years(result) -> tuple[int, int]:
    period = result.plan.plan.period
    return period.start.year, period.end.year


def _year_notes(result) -> list[str]:
    return [n for n in result.report.notes if n.startswith("--year")]


def test_span_found_in_the_deadlines_wins_over_year():
    result = import_plan(SEEDS / CASES["yuzhno-sakhalinsk-2014-2016.yaml"][0], output_name="ys.yaml", year=2014)
    assert _years(result) == (2014, 2016)
    assert _year_notes(result) == [
        "--year 2014 не совпадает с периодом документа 2014–2016 (определён по срокам пунктов — проверьте): "
        "взят период документа; чтобы перенести план на другой год, используйте nok plan rollover"]


def test_year_in_the_title_wins_over_year():
    result = import_plan(SEEDS / CASES["orenburg-raion-2024.yaml"][0], output_name="o.yaml", year=2025)
    assert _years(result) == (2024, 2024)
    assert len(_year_notes(result)) == 1
    assert _year_notes(result)[0].startswith("--year 2025 не совпадает с периодом документа 2024 (из заголовка)")


def test_year_that_agrees_or_fills_a_gap_adds_no_note():
    agrees = import_plan(SEEDS / CASES["orenburg-raion-2024.yaml"][0], output_name="o.yaml", year=2024)
    fills = import_plan(SEEDS / CASES["informing-2026.yaml"][0], output_name="i.yaml", year=2026)
    assert (_years(agrees), _years(fills)) == ((2024, 2024), (2026, 2026))
    assert _year_notes(agrees) == _year_notes(fills) == []


def _plan_text(title: str, owners: list[str] | None = None) -> str:
    """A plan in the seeds' «rows» layout: item n is on line n + 2."""
    owners = owners or ["Отдел образования"]
    rows = [f"{n}\tМероприятие {n}\tЯнварь\t{owner}" for n, owner in enumerate(owners, start=1)]
    return "\n".join([title, "№\tМероприятие\tСрок\tОтветственные", *rows]) + "\n"


@pytest.mark.parametrize(("title", "span"), [
    ("План мероприятий на 2014–2016 годы", (2014, 2016)),
    ("План мероприятий на 2014 - 2016 гг.", (2014, 2016)),
    ("План мероприятий с 2014 по 2016 год", (2014, 2016)),
    ("План работы на 2024/2025 учебный год", (2024, 2025)),
    ("План мероприятий на 2018 год", (2018, 2018)),
])
def test_title_names_the_span_and_it_beats_year(tmp_path, title, span):
    document = tmp_path / "plan.txt"
    document.write_text(_plan_text(title), encoding="utf-8")
    assert _years(import_plan(document, output_name="p.yaml")) == span
    forced = import_plan(document, output_name="p.yaml", year=2030)
    assert _years(forced) == span and len(_year_notes(forced)) == 1


# --- owners that look like one party: reported, merged only by a directory alias ----------

SAME_PARTY_OWNERS = ["Организация-оператор", "Оператор", 'МКУ "ИМЦ"', "ИМЦ", "Отдел образования",
                     "ОРГАНИЗАЦИЯ-ОПЕРАТОР"]


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Оператор", "Организация-оператор", True),  # a generic word
    ('МКУ "ИМЦ"', "ИМЦ", True),  # a legal form and quotes
    ("ИМЦ", "Муниципальное казённое учреждение «Информационно-методический центр»", True),  # an abbreviation
    ("Организация-оператор", "Организация-оператор ОГАУ «УО ЦСНК»", True),  # the same, named in full
    ("Отдел образования", "Общественный совет", False),
    ("Организация", "Организация-оператор", False),  # only generic words say nothing
    ("Департамент образования", "Администрация города", False),
    ("Новикова И.В.", "Новиков И.В.", False),
])
def test_probably_same(a, b, same):
    assert probably_same(a, b) is same
    assert probably_same(b, a) is same


def test_similar_owners_are_reported_with_where_each_occurs(tmp_path):
    document = tmp_path / "plan.txt"
    document.write_text(_plan_text("План на 2025 год", SAME_PARTY_OWNERS), encoding="utf-8")
    result = import_plan(document, output_name="p.yaml")
    owners = [list(ci.item.owners) for ci in result.plan.compiled.items]
    assert owners == [["organizatsiia-operator"], ["operator"], ["mku-imts"], ["imts"], ["otdel-obrazovaniia"],
                      ["organizatsiia-operator"]]  # case alone is the same name already
    assert result.report.similar == [
        "«Организация-оператор» (organizatsiia-operator: строки 3, 8) и «Оператор» (operator: строка 4)",
        "«МКУ \"ИМЦ\"» (mku-imts: строка 5) и «ИМЦ» (imts: строка 6)",
    ]


def test_directory_aliases_merge_what_the_report_suggested(tmp_path):
    document = tmp_path / "plan.txt"
    document.write_text(_plan_text("План на 2025 год", SAME_PARTY_OWNERS), encoding="utf-8")
    people = tmp_path / "people.yaml"
    people.write_text(
        "directory:\n"
        "  - {id: operator, name: Организация-оператор, aliases: [Оператор]}\n"
        "  - {id: imc, name: МКУ «ИМЦ»}\n"  # other quotes than the document's
        "  - {id: imc-full, name: Информационно-методический центр}\n"
        "  - {id: otdel, name: Отдел образования}\n", encoding="utf-8")
    result = import_plan(document, output_name="p.yaml", directory=load_directory(people))
    owners = [list(ci.item.owners) for ci in result.plan.compiled.items]
    assert owners == [["operator"], ["operator"], ["imc"], ["imts"], ["otdel"], ["operator"]]
    # «ИМЦ» has no alias yet: it is a new entry, and the report points at both candidates.
    assert result.report.similar == [
        "«МКУ «ИМЦ»» (imc: строка 5) и «ИМЦ» (imts: строка 6)",
        "«Информационно-методический центр» (imc-full: в справочнике, в документе не встречается) "
        "и «ИМЦ» (imts: строка 6)",
    ]


def test_seeds_report_only_the_real_look_alikes():
    found = {checked: import_plan(SEEDS / seed, output_name="x.yaml", year=year).report.similar
             for checked, (seed, year, _) in CASES.items()}
    assert found == {
        "gorod-2018.yaml": [],
        "yuzhno-sakhalinsk-2014-2016.yaml": [],
        "orenburg-raion-2024.yaml": [
            "«Организация-оператор» (organizatsiia-operator: строки 35, 41, 47, 53 и ещё 1) "
            "и «Оператор» (operator: строка 86)"],
        "informing-2026.yaml": [
            "«Организация-оператор» (organizatsiia-operator: строка 19) и «Организация-оператор ОГАУ «УО ЦСНК»» "
            "(organizatsiia-operator-ogau-uo-tssnk: строки 24, 43, 48, 63)"],
    }
    # The checked plans' directories say which names are one party: nothing left to report.
    assert all(not import_plan(SEEDS / seed, output_name="x.yaml", year=year,
                               directory=load_directory(PLANS / checked)).report.similar
               for checked, (seed, year, _) in CASES.items())


@pytest.mark.slow
def test_command_prints_the_look_alikes_and_the_year_it_kept(tmp_path):
    document = tmp_path / "plan.txt"
    document.write_text(_plan_text("План на 2025 год", SAME_PARTY_OWNERS), encoding="utf-8")
    result = run_nok("plan", "import", str(document), "-o", str(tmp_path / "p.yaml"), "--year", "2024")
    assert result.returncode == 0, result.stderr
    assert "Похоже на одного исполнителя под разными названиями" in result.stderr
    assert "  «Организация-оператор» (organizatsiia-operator: строки 3, 8) и «Оператор» (operator: строка 4)" \
        in result.stderr
    assert "--year 2024 не совпадает с периодом документа 2025 (из заголовка)" in result.stderr
    assert "period: 2025" in (tmp_path / "p.yaml").read_text(encoding="utf-8")
