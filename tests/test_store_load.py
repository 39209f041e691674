"""Loading plans into the store — the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from nok_workflow.expand import expand
from nok_workflow.plan.validate import load_plan
from nok_workflow.problems import InputError
from nok_workflow.services.commands import plans
from nok_workflow.store.models import (
    AuditEvent,
    Evidence,
    Item,
    Obligation,
    Plan,
    PlanVersion,
)
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN

NOW = dt.datetime(2024, 9, 20, 9, tzinfo=dt.UTC)
SEED_FILES = sorted(PLANS.glob("*.yaml"))


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_each_seed_loads_and_a_second_load_changes_nothing(engine, path):
    expected = len(expand(load_plan(path).compiled)[1])
    first = plans.load(engine, path, actor=None, now=NOW)
    assert first.applied and first.version == 1 and first.diff.obligations_added == expected
    assert count(engine, Obligation) == expected
    events = count(engine, AuditEvent)  # the load, and what the plan says was already done
    assert events == 1 + any(ci.item.progress and ci.item.progress.done_on for ci in load_plan(path).compiled.items)
    second = plans.load(engine, path, actor=None, now=NOW + dt.timedelta(days=1))
    assert not second.applied and second.diff.empty and second.version == 1
    assert count(engine, Obligation) == expected
    assert count(engine, PlanVersion) == 1
    assert count(engine, AuditEvent) == events


def test_obligations_per_organisation_and_shared(engine):
    plans.load(engine, PLANS / "yuzhno-sakhalinsk-2014-2016.yaml", actor=None, now=NOW)
    with Session(engine) as session:
        rows = session.execute(
            select(Obligation.org_id, Obligation.period, Obligation.due)
            .join(Item, Item.id == Obligation.item_id).where(Item.key == "4.5")
        ).all()
    # 4.5: «Муниципальные образовательные организации Департамент образования», quarterly
    # Q3 2014 … Q4 2016 = 10 periods; 3 schools each + the department's shared obligation.
    assert len(rows) == 40
    assert {r.org_id for r in rows} == {"", "sosh-1", "gimnaziya-3", "ds-12"}
    assert min(r.due for r in rows) == dt.date(2014, 10, 5)


def _write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


PLAN_V1 = MINIMAL_PLAN + """\
      - number: "2"
        title: Ежеквартальный отчёт
        deadline: Ежеквартально
        owners: [otdel]
      - number: "3"
        title: Публикация
        deadline: Декабрь
        owners: [otdel]
"""


def test_amendment_diff_keeps_evidence_and_cancels_removed(engine, tmp_path):
    from nok_workflow.services.commands.evidence import Upload, submit

    v1 = _write(tmp_path, PLAN_V1)
    plans.load(engine, v1, actor="otdel", now=NOW)
    submit(engine, tmp_path / "ev", plan_id="test-plan", item="1.1", by="otdel", now=NOW,
           upload=Upload(b"%PDF-1.4 list", "perechen.pdf"), document_date=dt.date(2024, 1, 20))
    amended = (PLAN_V1.replace("deadline: Декабрь", "deadline: Ноябрь")        # 1.3 rescheduled
               .replace("title: Ежеквартальный отчёт", "title: Квартальный отчёт")  # 1.2 renamed
               .replace("""      - number: "1"
        title: Формирование перечня""", """      - number: "1"
        title: Формирование перечня учреждений"""))
    amended = amended.replace("""      - number: "2"
        title: Квартальный отчёт
        deadline: Ежеквартально
        owners: [otdel]
""", """      - number: "4"
        title: Новый пункт
        deadline: Май
        owners: [otdel]
""")  # 1.2 removed, 1.4 added
    v2 = _write(tmp_path, amended, "plan-v2.yaml")

    preview = plans.load(engine, v2, actor="otdel", now=NOW, dry_run=True)
    assert not preview.applied
    assert count(engine, PlanVersion) == 1  # --dry-run writes nothing
    diff = preview.diff
    assert diff.added == ["1.4"] and diff.removed == ["1.2"]
    assert dict(diff.changed) == {"1.1": ["название"], "1.3": ["срок"]}
    assert (diff.obligations_added, diff.obligations_cancelled, diff.obligations_rescheduled) == (1, 4, 1)

    result = plans.load(engine, v2, actor="otdel", now=NOW)
    assert result.applied and result.version == 2
    with Session(engine) as session:
        by_key = {(k, p): (s, d, c) for k, p, s, d, c in session.execute(
            select(Item.key, Obligation.period, Obligation.state, Obligation.due, Obligation.completed_on)
            .join(Item, Item.id == Obligation.item_id))}
        assert session.get(Plan, "test-plan").current_version == 2
    # evidence and completion of the unchanged (renamed) item survive
    assert by_key[("1.1", "2024-01")] == ("active", dt.date(2024, 1, 31), dt.date(2024, 1, 20))
    assert count(engine, Evidence) == 1
    # removed item: cancelled, never deleted
    assert [by_key[("1.2", f"2024-Q{q}")][0] for q in (1, 2, 3, 4)] == ["cancelled"] * 4
    assert by_key[("1.3", "2024-11")] == ("active", dt.date(2024, 11, 30), None)
    assert by_key[("1.4", "2024-05")][0] == "active"

    # Loading v1 again restores 1.2 and reschedules 1.3 back: a new version, nothing lost.
    back = plans.load(engine, v1, actor="otdel", now=NOW)
    assert back.version == 3 and back.diff.obligations_restored == 4
    assert count(engine, Obligation, Obligation.state == "cancelled") == 1  # 1.4 is gone again
    with Session(engine) as session:
        rows = session.execute(select(Obligation.period, Obligation.due, Obligation.state).join(Item)
                               .where(Item.key == "1.3")).all()
    assert rows == [("2024-12", dt.date(2024, 12, 31), "active")]  # the same obligation, moved back


def test_invalid_file_changes_nothing(engine, tmp_path):
    plans.load(engine, _write(tmp_path, PLAN_V1), actor=None, now=NOW)
    bad = _write(tmp_path, PLAN_V1.replace("owners: [otdel]\n        results", "owners: [nobody]\n        results"),
                 "bad.yaml")
    with pytest.raises(InputError) as info:
        plans.load(engine, bad, actor=None, now=NOW)
    assert "исполнитель «nobody» не найден" in str(info.value)
    assert count(engine, PlanVersion) == 1 and count(engine, AuditEvent) == 1


def test_two_loads_of_different_versions_at_once(engine, tmp_path):
    """Both compute their diff against version 1; the second to write gets a clear error."""
    plans.load(engine, _write(tmp_path, PLAN_V1), actor=None, now=NOW)
    a = _write(tmp_path, PLAN_V1.replace("deadline: Декабрь", "deadline: Ноябрь"), "a.yaml")
    b = _write(tmp_path, PLAN_V1.replace("deadline: Декабрь", "deadline: Октябрь"), "b.yaml")
    loaded_a, text_a = plans.read_plan_file(a)
    loaded_b, text_b = plans.read_plan_file(b)
    diff_a = plans.compute_diff(engine, loaded_a, text_a)
    diff_b = plans.compute_diff(engine, loaded_b, text_b)
    assert plans._apply(engine, loaded_a, text_a, str(a), diff_a, "otdel", NOW) == 2
    with pytest.raises(InputError) as info:
        plans._apply(engine, loaded_b, text_b, str(b), diff_b, "otdel", NOW)
    assert "только что изменила другая загрузка" in str(info.value)
    with Session(engine) as session:
        assert session.get(Plan, "test-plan").current_version == 2
        dues = session.execute(select(Obligation.due).join(Item).where(
            Item.key == "1.3", Obligation.state == "active")).scalars().all()
    assert dues == [dt.date(2024, 11, 30)]  # a's change, and nothing of b's
    assert count(engine, PlanVersion) == 2


def test_two_new_plans_with_the_same_id_at_once(engine, tmp_path):
    a = _write(tmp_path, PLAN_V1, "a.yaml")
    b = _write(tmp_path, PLAN_V1.replace("deadline: Декабрь", "deadline: Ноябрь"), "b.yaml")
    loaded_a, text_a = plans.read_plan_file(a)
    loaded_b, text_b = plans.read_plan_file(b)
    diff_a = plans.compute_diff(engine, loaded_a, text_a)
    diff_b = plans.compute_diff(engine, loaded_b, text_b)
    plans._apply(engine, loaded_a, text_a, str(a), diff_a, "otdel", NOW)
    with pytest.raises(InputError):
        plans._apply(engine, loaded_b, text_b, str(b), diff_b, "otdel", NOW)
    assert count(engine, PlanVersion) == 1
    assert count(engine, Obligation) == len(expand(loaded_a.compiled)[1])
