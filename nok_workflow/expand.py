"""A compiled plan → the items and obligations it asks for (pure: no store, no clock).

An obligation is item × period × organisation: an item owned by `@group` gives one per
organisation of the group (each answers for itself); its other owners share one more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

from nok_workflow.plan.compiled import CompiledPlan, deadline_text
from nok_workflow.plan.ids import ALL_OF_GROUP, NO_ORG

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
    slots: str = ""  # digest of its organisations × windows (see `expand`)

    def row(self) -> dict[str, Any]:
        return {
            "identity": self.identity, "key": self.key, "number": self.number, "title": self.title,
            "deadline_text": self.deadline_text, "kind": self.kind, "owners": list(self.owners),
            "results": list(self.results), "depends_on": list(self.depends_on),
            "relative": dict(self.relative) if self.relative else None,
            "review_required": self.review_required, "position": self.position, "slots": self.slots,
        }


class ObligationSpec(NamedTuple):  # a tuple: a region's plan makes hundreds of thousands
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


def expand(compiled: CompiledPlan,
           only: Collection[str] | None = None) -> tuple[list[ItemSpec], list[ObligationSpec]]:
    """Every item, and the obligations of those whose identity is in ``only`` (None: all)."""
    plan = compiled.plan
    members: dict[str, list[str]] = {}
    for org in plan.organisations:
        members.setdefault(org.group, []).append(org.id)
    items, obligations = [], []
    new = tuple.__new__  # ObligationSpec's own __new__ is a Python call per row
    for position, ci in enumerate(compiled.items):
        item, interp = ci.item, ci.interpretation
        identity = item.id or ci.key
        relative = None
        if interp.relative is not None:
            relative = tuple(sorted(interp.relative.as_json().items()))
        orgs = [o for ref in item.owners if ref.startswith(ALL_OF_GROUP) for o in members.get(ref[1:], [])]
        if any(not ref.startswith(ALL_OF_GROUP) for ref in item.owners) or not item.owners:
            orgs.insert(0, NO_ORG)
        orgs = list(dict.fromkeys(orgs))
        if interp.kind == "relative":
            windows = [(RELATIVE, None, None)]
        elif not interp.occurrences:
            windows = [(UNSCHEDULED, plan.period.start, None)]
        else:
            windows = [(o.period, o.opens, o.due) for o in interp.occurrences]
        # Same digest, same obligations: an amendment need not compare this item's rows.
        digest = hashlib.sha256("\x1f".join(orgs).encode() + b"\x1e" + repr(windows).encode()).hexdigest()
        items.append(ItemSpec(
            identity, ci.key, item.number, item.title, deadline_text(item), interp.kind,
            tuple(item.owners), tuple(item.results), tuple(item.depends_on), relative,
            item.review_required, position, digest,
        ))
        if only is None or identity in only:
            obligations += [new(ObligationSpec, (identity, period, org, opens, due))
                            for org in orgs for period, opens, due in windows]
    return items, obligations
