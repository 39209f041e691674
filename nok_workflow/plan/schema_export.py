"""The JSON Schema of the plan format, generated from the pydantic models."""

from __future__ import annotations

import json

from nok_workflow.plan.schema import Plan


def schema_json() -> str:
    schema = Plan.model_json_schema()
    # The models accept shorthands before validation (``period: 2018``, ``start: 2014``);
    # say so in the schema too, or editors would flag valid plans.
    year = {"type": "integer", "minimum": 1900, "maximum": 2200, "description": "Год целиком"}
    period = schema["properties"]["period"]
    schema["properties"]["period"] = {"anyOf": [{"$ref": period.get("$ref", "#/$defs/Period")}, year],
                                      "description": "Период плана: {start, end} или год"}
    for bound in ("start", "end"):
        field = schema["$defs"]["Period"]["properties"][bound]
        schema["$defs"]["Period"]["properties"][bound] = {"anyOf": [field, year]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "План НОК/НОКО (nok-workflow)"
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
