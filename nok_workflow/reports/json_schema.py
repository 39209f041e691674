"""The JSON reports' schemas (docs/report.schema.json, docs/report-form.schema.json), generated
from the models so the documents and the data cannot drift apart (tests compare them)."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from nok_workflow.reports import form_model, model

# kind → (model, schema version, title, description)
SCHEMAS: dict[str, tuple[type[BaseModel], int, str, str]] = {
    "report": (model.Report, model.SCHEMA_VERSION, "Отчёт о выполнении плана мероприятий (nok-workflow)",
               "Данные квартального отчёта: `nok report --format json`, страница «Отчёт» "
               "координатора. Статусы — outcome: on_time, late, not_done, in_progress, cancelled."),
    "form": (form_model.FormReport, form_model.SCHEMA_VERSION,
             "Отчёт о ходе реализации плана по устранению недостатков по форме № 457 (nok-workflow)",
             "Данные отчёта по форме Постановления Правительства РФ от 17.04.2018 № 457: разделы по "
             "критериям, по мероприятию — недостаток, срок, ответственные, реализованные меры (done) и "
             "фактический срок (done_on; overdue_since — просрочено)."),
}
FILES = {"report": "report.schema.json", "form": "report-form.schema.json"}


def json_schema(kind: str = "report") -> dict[str, Any]:
    cls, version, title, description = SCHEMAS[kind]
    schema = cls.model_json_schema()
    name = FILES[kind].removesuffix(".json")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://nok-workflow.invalid/{name}.v{version}.json",
            "title": title, "description": description,
            **{k: v for k, v in schema.items() if k != "title"}}


def schema_text(kind: str = "report") -> str:
    return json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # .venv/bin/python -m nok_workflow.reports.json_schema [form] > docs/<file>
    print(schema_text(sys.argv[1] if len(sys.argv) > 1 else "report"), end="")
