"""The shipped JSON Schema is the one the models generate, and every plan references it."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest

from nok_workflow.plan.schema_export import schema_json
from nok_workflow.plan.source import load
from tests.support.paths import PLANS

PLAN_FILES = sorted(PLANS.glob("*.yaml"))


def test_shipped_schema_is_up_to_date():
    shipped = (PLANS / "plan.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_json(), "run: nok plan schema -o plan_definitions/plan.schema.json"


def _as_json(value):
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.name)
def test_plan_references_schema_and_conforms_to_it(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=plan.schema.json"
    schema = jsonschema.Draft202012Validator(
        json.loads(schema_json()), format_checker=jsonschema.FormatChecker()
    )
    errors = [e.message for e in schema.iter_errors(_as_json(load(path).data))]
    assert errors == []


def test_schema_rejects_an_unknown_key():
    validator = jsonschema.Draft202012Validator(json.loads(schema_json()))
    data = _as_json(load(PLAN_FILES[0]).data)
    data["titel"] = "опечатка"
    assert any("titel" in e.message for e in validator.iter_errors(data))
