"""Editing one item of a plan — change, add, remove — as a new plan text (plan/edit.py)."""

from __future__ import annotations

import pytest

from nok_workflow.plan.edit import ItemFields, add_item, edit_item, fields_of, remove_item
from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from tests.support.paths import PLANS

ORENBURG = PLANS / "orenburg-raion-2024.yaml"


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    import difflib

    diff = difflib.ndiff(old.splitlines(), new.splitlines())
    return [line[0] + line[2:] for line in diff if line[:1] in "+-"]


def test_an_edit_changes_only_that_items_lines_and_keeps_comments():
    text = ORENBURG.read_text(encoding="utf-8")
    before = fields_of(load_plan(ORENBURG), "II.4")
    edited = edit_item(text, str(ORENBURG), "II.4", ItemFields(
        before.title, "до 20 декабря 2024 г.", (*before.owners, "uo"), before.results))
    lines = changed_lines(text, edited.text)
    assert [line for line in lines if line.startswith("+")] == [
        "+        deadline: до 20 декабря 2024 г.",
        f"+        owners: [{', '.join((*before.owners, 'uo'))}]",
    ], lines
    assert len(lines) == 4
    after = fields_of(edited.plan, "II.4")
    assert after.deadline == "до 20 декабря 2024 г." and after.owners[-1] == "uo"
    assert edited.what == "пункт II.4 изменён"
    assert text.splitlines()[:3] == edited.text.splitlines()[:3]  # the head comments


def test_an_item_is_added_at_the_end_of_its_section_and_removed_again():
    text = ORENBURG.read_text(encoding="utf-8")
    plan = load_plan(ORENBURG)
    keys = [c.key for c in plan.compiled.items]
    added = add_item(text, str(ORENBURG), 1, "7", ItemFields("Сводный отчёт", "до 25 декабря 2024 г.",
                                                             ("uo",), ("Отчёт",)))
    new_keys = [c.key for c in added.plan.compiled.items]
    assert added.what == "добавлен пункт II.7"
    assert new_keys == keys[:keys.index("II.6") + 1] + ["II.7"] + keys[keys.index("II.6") + 1:]
    removed = remove_item(added.text, str(ORENBURG), "II.7")
    assert removed.text == text and removed.what == "пункт II.7 удалён"


def test_wrong_edits_are_refused_with_a_message_and_no_text():
    text = ORENBURG.read_text(encoding="utf-8")
    fields = fields_of(load_plan(ORENBURG), "I.1")
    with pytest.raises(InputError, match="пункта IX.9 в плане нет"):
        edit_item(text, str(ORENBURG), "IX.9", fields)
    with pytest.raises(InputError, match="название пункта не может быть пустым"):
        edit_item(text, str(ORENBURG), "I.1", ItemFields("  ", fields.deadline, fields.owners, fields.results))
    with pytest.raises(InputError) as unknown:
        edit_item(text, str(ORENBURG), "I.1", ItemFields(fields.title, fields.deadline, ("nobody",), ()))
    assert "nobody" in str(unknown.value.problems[0])
    with pytest.raises(InputError, match="раздела № 9 в плане нет"):
        add_item(text, str(ORENBURG), 8, "1", fields)
