"""The JSON report's schema (docs/report.schema.json), generated from the models so the
document and the data cannot drift apart (a test compares them)."""

from __future__ import annotations

import json
from typing import Any

from nok_workflow.reports.model import SCHEMA_VERSION, Report


def json_schema() -> dict[str, Any]:
    schema = Report.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://nok-workflow.invalid/report.schema.v{SCHEMA_VERSION}.json",
            "title": "Отчёт о выполнении плана мероприятий (nok-workflow)",
            "description": "Данные квартального отчёта: `nok report --format json`, страница «Отчёт» "
                           "координатора. Статусы — outcome: on_time, late, not_done, in_progress, cancelled.",
            **{k: v for k, v in schema.items() if k != "title"}}


def schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # .venv/bin/python -m nok_workflow.reports.json_schema > docs/report.schema.json
    print(schema_text(), end="")
