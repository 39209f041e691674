"""A compiled plan → the items and obligations it asks for (pure: no store, no clock).

An obligation is item × period × organisation: an item owned by `@group` gives one per
organisation of the group (each answers for itself); its other owners share one more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nok_workflow.plan.compiled import ALL_OF_GROUP, CompiledPlan, deadline_text
from nok_workflow.store.models import NO_ORG

RELATIVE = "relative"
UNSCHEDULED = "unscheduled"


@dataclass(frozen=True)
class ItemSpec:
    identity: str
    key: str
    number: str
    title: str
    deadline_text: str
    kind: str
    owners: tuple[str, ...]
    results: tuple[str, ...]
    depends_on: tuple[str, ...]
    relative: tuple[tuple[str, Any], ...] | None
    review_required: bool | None
    position: int

    def row(self) -> dict[str, Any]:
        return {
            "identity": self.identity, "key": self.key, "number": self.number, "title": self.title,
            "deadline_text": self.deadline_text, "kind": self.kind, "owners": list(self.owners),
            "results": list(self.results), "depends_on": list(self.depends_on),
            "relative": dict(self.relative) if self.relative else None,
            "review_required": self.review_required, "position": self.position,
        }


@dataclass(frozen=True)
class ObligationSpec:
    identity: str  # of the item
    period: str
    org_id: str
    opens: dt.date | None
    due: dt.date | None

    @property
    def slot(self) -> tuple[str, str, str]:
        return self.identity, self.period, self.org_id


def obligation_owners(org_id: str, item_owners: list[str]) -> list[str]:
    """Who answers for one obligation: its organisation, or the item's people and units."""
    if org_id != NO_ORG:
        return [org_id]
    return [o for o in item_owners if not o.startswith(ALL_OF_GROUP)]


def expand(compiled: CompiledPlan) -> tuple[list[ItemSpec], list[ObligationSpec]]:
    plan = compiled.plan
    members: dict[str, list[str]] = {}
    for org in plan.organisations:
        members.setdefault(org.group, []).append(org.id)
    items, obligations = [], []
    for position, ci in enumerate(compiled.items):
        item, interp = ci.item, ci.interpretation
        identity = item.id or ci.key
        relative = None
        if interp.relative is not None:
            relative = tuple(sorted(interp.relative.as_json().items()))
        items.append(ItemSpec(
            identity, ci.key, item.number, item.title, deadline_text(item), interp.kind,
            tuple(item.owners), tuple(item.results), tuple(item.depends_on), relative,
            item.review_required, position,
        ))
        orgs = [o for ref in item.owners if ref.startswith(ALL_OF_GROUP) for o in members.get(ref[1:], [])]
        if any(not ref.startswith(ALL_OF_GROUP) for ref in item.owners) or not item.owners:
            orgs.insert(0, NO_ORG)
        if interp.kind == "relative":
            windows = [(RELATIVE, None, None)]
        elif not interp.occurrences:
            windows = [(UNSCHEDULED, plan.period.start, None)]
        else:
            windows = [(o.period, o.opens, o.due) for o in interp.occurrences]
        for org in dict.fromkeys(orgs):
            for period, opens, due in windows:
                obligations.append(ObligationSpec(identity, period, org, opens, due))
    return items, obligations
