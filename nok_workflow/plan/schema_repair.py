"""Checking the rest of a plan that has schema errors, so one run reports everything.

A key typo must not hide an unknown owner in the same item. So the schema errors are
taken out of a copy of the data — an unknown or invalid key is deleted, an element that
cannot be checked without its required key is dropped (list positions are remembered, so
every problem keeps its place in the file), a broken deadline becomes no deadline — and
the copy is validated again until it passes; then the cross-references are checked on it.
References to what was dropped are not reported: their target has its own error already.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from nok_workflow.plan import source
from nok_workflow.plan.compiled import clean_number
from nok_workflow.plan.schema import Plan
from nok_workflow.plan.schema_errors import identity, locate_errors
from nok_workflow.problems import Problem

Path_ = source.Path_

_MAX_ROUNDS = 12  # each round goes at least one level up the nesting; plans are ~8 deep
_PLACEHOLDERS: dict[str, Any] = {"id": "plan", "title": "—", "coordinator": "coordinator",
                                 "period": {"start": 2000, "end": 2000}}


@dataclass
class Lost:
    """What the schema repairs dropped: references to it are not errors of their own."""

    people: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    coordinator: bool = False
    period: bool = False

    def item(self, ref: str) -> bool:
        return bool(self.items & {ref, clean_number(ref)})


@dataclass
class SchemaCheck:
    """The outcome of :func:`check_schema`."""

    plan: Plan | None  # None when too little is left to check cross-references on
    problems: list[Problem]
    lost: Lost
    original: Callable[[Path_], Path_]  # a path in ``plan`` → the same place in the file


def check_schema(doc: source.SourceDocument) -> SchemaCheck:
    """Schema problems of the file, and the plan left once they are set aside."""
    try:
        return SchemaCheck(Plan.model_validate(doc.data), [], Lost(), identity)
    except ValidationError as exc:
        errors = exc.errors()
    repair = _Repair(doc.data)
    problems: list[Problem] = []
    seen: set[tuple[Path_, str]] = set()
    for round_ in range(_MAX_ROUNDS):
        changed = False
        for e in locate_errors(repair.data, errors, repair.original):
            # Later rounds also see the consequences of the repairs: not the user's errors.
            genuine = round_ == 0 or e.path not in repair.touched
            if e.shown and genuine and (e.path, e.message) not in seen:
                seen.add((e.path, e.message))
                problems.append(doc.problem(e.path, e.message))
            if not e.noise:
                changed |= repair.fix(e.path, e.union_base, e.kind)
        if not changed or repair.hopeless:
            return SchemaCheck(None, problems, repair.lost, repair.original)
        try:
            plan = Plan.model_validate(repair.data)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        return SchemaCheck(plan, problems, repair.lost, repair.original)
    return SchemaCheck(None, problems, repair.lost, repair.original)


class _Repair:
    """A copy of the plan's data with schema errors taken out; paths are given in the file's
    terms and translated, since dropping list elements shifts the positions after them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.source = data
        self.data = copy.deepcopy(data)
        self.kept: dict[Path_, list[int]] = {}  # list path → its original indices still there
        self.touched: set[Path_] = set()  # what was changed: errors there are ours, not the user's
        self.lost = Lost()
        self.hopeless = False

    def original(self, path: Path_) -> Path_:
        result: list[str | int] = []
        for part in path:
            if isinstance(part, int) and (kept := self.kept.get(tuple(result))) is not None:
                part = kept[part]
            result.append(part)
        return tuple(result)

    def _current(self, path: Path_) -> Any:
        """The value at an original path in the copy (KeyError when it is gone)."""
        node, walked = self.data, []
        for part in path:
            if isinstance(part, int) and (kept := self.kept.get(tuple(walked))) is not None:
                if part not in kept:
                    raise KeyError(path)
                node = node[kept.index(part)]
            else:
                node = node[part]
            walked.append(part)
        return node

    def fix(self, path: Path_, union_base: Path_ | None, kind: str) -> bool:
        """Take one error out; True if the copy changed."""
        try:
            if union_base is not None and kind != "extra_forbidden":
                return self._replace(union_base, "")  # neither form of the deadline: no deadline
            if kind == "missing":
                return self._placeholder(path[-1]) if len(path) == 1 else self._drop(path[:-1])
            return self._drop(path)
        except (KeyError, IndexError, TypeError, ValueError):
            return False  # already gone with its parent

    def _replace(self, path: Path_, value: Any) -> bool:
        parent = self._current(path[:-1])
        if parent.get(path[-1]) == value:
            return False
        parent[path[-1]] = value
        self.touched.update((path, path[:-1]))
        return True

    def _placeholder(self, key: str | int) -> bool:
        """A required top-level key is missing or broken: check the rest without it."""
        if key not in _PLACEHOLDERS or key in self.data:
            self.hopeless = True  # no directory or no sections: nothing to check against
            return False
        self.data[key] = copy.deepcopy(_PLACEHOLDERS[key])
        self.lost.coordinator |= key == "coordinator"
        self.lost.period |= key == "period"
        self.touched.add((key,))
        return True

    def _drop(self, path: Path_) -> bool:
        if not path:
            self.hopeless = True
            return False
        parent_path, last = path[:-1], path[-1]
        parent = self._current(parent_path)
        if not isinstance(parent, (dict, list)):
            return False  # its parent was replaced already
        self.touched.update((path, parent_path))
        if isinstance(parent, dict):
            del parent[last]
            return True
        kept = self.kept.setdefault(parent_path, list(range(len(parent))))
        index = kept.index(last)
        del parent[index]
        kept.pop(index)
        self._lose(parent_path, last)
        return True

    def _lose(self, list_path: Path_, index: int) -> None:
        """Remember the names a dropped element answered to."""
        element = _at(self.source, (*list_path, index))
        if not isinstance(element, dict):
            return
        ident = element.get("id")
        if list_path in (("directory",), ("organisations",)) and isinstance(ident, str):
            self.lost.people.add(ident)
        elif list_path == ("groups",) and isinstance(ident, str):
            self.lost.groups.add(ident)
        elif list_path == ("sections",):
            for item in element.get("items") or []:
                self._lose_item(element, item)
        elif len(list_path) == 3 and list_path[0] == "sections" and list_path[2] == "items":
            self._lose_item(_at(self.source, list_path[:2]), element)

    def _lose_item(self, section: Any, item: Any) -> None:
        if not isinstance(item, dict) or not isinstance(section, dict):
            return
        number = clean_number(str(item.get("number", "")))
        prefix = clean_number(str(section.get("number") or ""))
        self.lost.items.update({number, f"{prefix}.{number}"} - {"", "."})
        if isinstance(item.get("id"), str):
            self.lost.items.add(item["id"])


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data
