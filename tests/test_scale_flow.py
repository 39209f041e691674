"""A plan flow step's parameters do not grow with the number of organisations (issue 15).

Prefect walks every parameter of every step (twice); a step that received the plan's whole
context (every school of the region) cost ~0.4 s at 3,000 schools. The same plan with 3 and
with 60 schools runs through the real plan flow under Prefect's test harness; the steps'
parameters, as Prefect hands them to the step and as its server records the inputs, must be
the same.
"""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest
import yaml

from tests.support.plans import SCHOOL_PLAN_ID as PLAN_ID
from tests.support.plans import school_plan

DAY = "2025-03-28"


def run_with_schools(schools: int, home: Path, monkeypatch) -> tuple[object, dict[str, dict]]:
    """Load the plan with `schools` into a new store and run the plan flow once:
    → (final state, step name → the parameters Prefect gave the step)."""
    import nok_workflow.runtime.flows as module
    from nok_workflow.runtime.engine import store_engine
    from nok_workflow.services.commands import plans

    monkeypatch.setenv("NOK_HOME", str(home))
    monkeypatch.delenv("NOK_DATABASE_URL", raising=False)
    path = home / "plan.yaml"
    home.mkdir(parents=True)
    path.write_text(school_plan(schools), encoding="utf-8")
    plans.load(store_engine(), path, actor=None, now=dt.datetime(2025, 3, 1, 5, tzinfo=dt.UTC))

    seen: dict[str, dict] = {}

    def record(task, task_run, state) -> None:  # noqa: ANN001 - Prefect's hook signature
        from prefect.context import TaskRunContext

        seen[task.name] = dict(TaskRunContext.get().parameters)

    monkeypatch.setattr(module, "item_step", module.item_step.with_options(on_completion=[record]))
    state = module.plan_flow(PLAN_ID, now=f"{DAY}T05:00:00+00:00", return_state=True)
    return state, seen


def recorded_inputs(state) -> dict[str, set[str]]:
    """Step name → the names of its inputs, as Prefect's server recorded the task runs."""
    from tests.support.prefect import settled_task_runs

    runs = settled_task_runs(state.state_details.flow_run_id)
    return {r.name.rsplit("-", 1)[0]: set(r.task_inputs) for r in runs if not r.name.startswith("Подготовка")}


@pytest.mark.slow
def test_step_parameters_do_not_grow_with_the_organisations(harness, tmp_path, monkeypatch):
    few_state, few = run_with_schools(3, tmp_path / "few", monkeypatch)
    many_state, many = run_with_schools(60, tmp_path / "many", monkeypatch)
    assert few_state.is_completed() and many_state.is_completed()
    names = ["1.1 Приказ управления", "1.2 Отчёт школы", "1.3 Мониторинг сайта"]
    assert sorted(few) == sorted(many) == names
    # The work did grow: twenty times the schools' obligations behind the same steps.
    steps = many_state.result()["steps"]
    assert sum(steps["1.3"]["counts"].values()) == 20 * sum(few_state.result()["steps"]["1.3"]["counts"].values())
    for name in names:
        assert set(few[name]) == set(many[name]) == {"plan_id", "item_id", "now"}, name
        sizes = {k: (len(pickle.dumps(few[name][k])), len(pickle.dumps(many[name][k]))) for k in few[name]}
        assert all(a == b for a, b in sizes.values()), (name, sizes)
    # What the server keeps of each step's inputs is the same too (and names no context).
    assert recorded_inputs(few_state) == recorded_inputs(many_state)
    assert recorded_inputs(many_state)["1.2 Отчёт школы"] <= {"plan_id", "item_id", "now", "wait_for", "__parents__"}


def test_step_names_are_made_once_per_process():
    """`with_options` reads the function's source each call: the named steps are kept."""
    from nok_workflow.runtime.flows import item_step, named

    assert named(item_step, "1.1 Приказ управления") is named(item_step, "1.1 Приказ управления")
    assert named(item_step, "1.1 Приказ управления").name == "1.1 Приказ управления"
    assert named(item_step, "1.2 Отчёт школы") is not named(item_step, "1.1 Приказ управления")


def test_an_amendment_is_never_served_the_old_context(engine, tmp_path):
    """The parties and policies are cached per plan version: a new version brings its own."""
    from nok_workflow.services.commands import plans
    from nok_workflow.services.jobs import sweep

    path = tmp_path / "plan.yaml"
    path.write_text(school_plan(3), encoding="utf-8")
    plans.load(engine, path, actor=None, now=dt.datetime(2025, 3, 1, 5, tzinfo=dt.UTC))
    before = sweep.plan_context(engine, PLAN_ID)
    assert before.parties["@oo"]["escalates_to"] == "uo" and "school-004" not in before.parties
    assert sweep.plan_context(engine, PLAN_ID).parties is before.parties  # built once
    amended = yaml.safe_load(school_plan(4))
    amended["directory"].append({"id": "minobr", "name": "Министерство", "email": "minobr@example.org"})
    amended["groups"][0]["escalates_to"] = "minobr"
    amended["sections"][0]["items"][2]["reminders"] = {"days_before": [5]}
    path.write_text(yaml.safe_dump(amended, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plans.load(engine, path, actor=None, now=dt.datetime(2025, 3, 2, 5, tzinfo=dt.UTC))
    after = sweep.plan_context(engine, PLAN_ID)
    assert after.parties["@oo"]["escalates_to"] == "minobr" and "school-004" in after.parties
    monthly = next(s.item_id for s in after.steps if s.key == "1.3")
    assert after.policies[after.identities[monthly]].reminder_days == (5,)
    assert before.policies[before.identities[monthly]].reminder_days != (5,)
