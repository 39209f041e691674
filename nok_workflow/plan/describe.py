"""A plan's interpretation as plain data: what `nok plan show` prints for a human to check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nok_workflow.plan.compiled import ALL_OF_GROUP, deadline_text
from nok_workflow.plan.validate import LoadedPlan
from nok_workflow.text import KIND_LABELS, date_short, plural


def describe(loaded: LoadedPlan) -> dict[str, Any]:
    plan = loaded.plan
    compiled = loaded.compiled
    groups = {g.id: g for g in plan.groups}
    items = []
    for ci in compiled.items:
        interp = ci.interpretation
        owners = []
        for ref, name in zip(ci.item.owners, compiled.owner_names(ci.item), strict=True):
            entry: dict[str, Any] = {"id": ref, "name": name}
            if ref.startswith(ALL_OF_GROUP) and ref[1:] in groups:
                members = [o.id for o in plan.organisations if o.group == ref[1:]]
                entry["each_organisation"] = members
            owners.append(entry)
        items.append(
            {
                "key": ci.key,
                "number": ci.item.number,
                "id": ci.item.id,
                "section": ci.section.number,
                "title": ci.item.title,
                "shortcoming": ci.item.shortcoming,
                "progress": ci.item.progress.model_dump(mode="json") if ci.item.progress else None,
                "deadline": deadline_text(ci.item),
                "kind": interp.kind,
                "occurrences": [o.as_json() for o in interp.occurrences],
                "relative": interp.relative.as_json() if interp.relative else None,
                "owners": owners,
                "results": list(ci.item.results),
                "depends_on": list(ci.item.depends_on),
                "warnings": list(interp.warnings),
                "notes": list(interp.notes),
            }
        )
    return {
        "file": loaded.file,
        "id": plan.id,
        "title": plan.title,
        "kind": plan.kind,
        "organisation": plan.organisation,
        "approved_by": plan.approved_by,
        "approval_act": plan.approval_act,
        "period": {"start": plan.period.start.isoformat(), "end": plan.period.end.isoformat()},
        "timezone": plan.timezone,
        "coordinator": plan.coordinator,
        "sections": [
            {"number": s.number, "title": s.title, "criterion": s.criterion, "items": len(s.items)}
            for s in plan.sections
        ],
        "items": items,
        "warnings": [str(w) for w in loaded.warnings],
    }


def owner_label(owner: dict) -> str:
    if "each_organisation" in owner:
        count = len(owner["each_organisation"])
        return f"{owner['name']} (отвечает каждая организация группы: {count})"
    return owner["name"]


_UNITS = {"days": ("день", "дня", "дней"), "working_days": ("рабочий день", "рабочих дня",
          "рабочих дней"), "months": ("месяц", "месяца", "месяцев")}


def interpretation_parts(item: dict) -> tuple[str, list[str]]:
    """How an item's deadline was understood: the kind (and a relative rule), and each
    occurrence as «2024-Q3: 01.07.2024 – 30.09.2024»."""
    spans = [
        f"{o['period']}: {date_short(dt.date.fromisoformat(o['opens']))} – "
        f"{date_short(dt.date.fromisoformat(o['due']))}"
        for o in item["occurrences"]
    ]
    text = KIND_LABELS[item["kind"]]
    if item["relative"]:
        r = item["relative"]
        text += f": {plural(r['amount'], *_UNITS[r['unit']])} после исполнения пункта {r['after'] or '?'}"
    for note in item.get("notes", ()):
        text += f" ({note})"
    return text, spans


def interpretation_text(item: dict) -> str:
    """«в период 2024-Q3: 01.07.2024 – 30.09.2024», several occurrences on their own lines."""
    text, spans = interpretation_parts(item)
    if len(spans) == 1:
        return f"{text}, {spans[0]}"
    if spans:
        return f"{text}, {plural(len(spans), 'срок', 'срока', 'сроков')}:\n      " + "\n      ".join(spans)
    return text
