"""A plan's current version compiled once per process: its sections, its items as `nok plan
show` describes them, each item's reminder and escalation policy. The pages read these on
every view; compiling a region's plan takes a fraction of a second, so it is kept in memory,
keyed by the version's content hash."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.plan.describe import describe
from nok_workflow.plan.source import parse
from nok_workflow.plan.validate import LoadedPlan, validate_document
from nok_workflow.policy import Policy, resolve
from nok_workflow.problems import InputError, Problem
from nok_workflow.store.models import Plan, PlanVersion


@dataclass(frozen=True)
class CurrentPlan:
    """A plan's current version compiled once: sections, items as `plan show` describes
    them, and each item's reminder and escalation policy."""

    plan_id: str
    version: int
    loaded: LoadedPlan
    described: dict[str, Any]
    policies: dict[str, Policy]  # by item identity; "" for the plan's own
    sections: list[tuple[str, str]]  # (number, title) in plan order
    section_of: dict[str, int]  # item key → index in `sections`

    def policy(self, identity: str) -> Policy:
        return self.policies.get(identity) or self.policies[""]

    def section_index(self, key: str) -> int:
        """An item no longer in the plan goes by its number's first part (I.1 → I)."""
        if key in self.section_of:
            return self.section_of[key]
        head = key.split(".")[0]
        return next((i for i, (number, _) in enumerate(self.sections) if number.strip(".") == head),
                    len(self.sections))


class VersionCache:
    """What a process builds once from one plan version, by (plan, version, content hash):
    another store's plan of the same id, or an amendment, never gets a stale value. The least
    recently used goes first beyond `size`. Thread-safe: runs, pages and the API share it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[tuple[str, int, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, str]) -> Any:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: tuple[str, int, str], value: Any) -> Any:
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_compiled = VersionCache(128)  # a region has ~60 municipal plans, each read by the pages


def current_plan(engine: Engine, plan_id: str, version: int | None = None) -> CurrentPlan:
    """The plan's current (or given) version compiled, from memory after the first time;
    keyed by the version's content hash, so another store's plan of the same id never mixes in."""
    with Session(engine) as session:
        query = (select(PlanVersion.version, PlanVersion.sha256).where(PlanVersion.plan_id == plan_id))
        if version is None:
            query = query.join(Plan, (Plan.id == PlanVersion.plan_id) & (Plan.current_version == PlanVersion.version))
        else:
            query = query.where(PlanVersion.version == version)
        version, sha = session.execute(query).one()
        key = (plan_id, version, sha)
        if (cached := _compiled.get(key)) is not None:
            return cached
        row = session.execute(select(PlanVersion.source_text, PlanVersion.source_file).where(
            PlanVersion.plan_id == plan_id, PlanVersion.version == version)).one()
    return _compiled.put(key, _compile(plan_id, version, row.source_text, row.source_file))


def current_plans(engine: Engine, plan_ids: list[str]) -> dict[str, CurrentPlan]:
    """Many plans' current versions compiled, in two queries whatever their number (a
    campaign's roll-up): the versions' hashes, then the text of those not in memory yet."""
    with Session(engine) as session:
        versions = session.execute(
            select(PlanVersion.plan_id, PlanVersion.version, PlanVersion.sha256)
            .join(Plan, (Plan.id == PlanVersion.plan_id) & (Plan.current_version == PlanVersion.version))
            .where(Plan.id.in_(plan_ids))).all()
        found = {v.plan_id: _compiled.get(tuple(v)) for v in versions}
        missing = [v for v in versions if found[v.plan_id] is None]
        if missing:
            wanted = {(v.plan_id, v.version): v for v in missing}
            for row in session.execute(
                    select(PlanVersion.plan_id, PlanVersion.version, PlanVersion.source_text, PlanVersion.source_file)
                    .join(Plan, (Plan.id == PlanVersion.plan_id) & (Plan.current_version == PlanVersion.version))
                    .where(PlanVersion.plan_id.in_([v.plan_id for v in missing]))):
                v = wanted.get((row.plan_id, row.version))
                if v is not None:
                    found[v.plan_id] = _compiled.put(tuple(v), _compile(v.plan_id, v.version, row.source_text,
                                                                         row.source_file))
    return found


def _compile(plan_id: str, version: int, source_text: str, source_file: str) -> CurrentPlan:
    try:
        loaded = validate_document(parse(source_text, source_file))
    except InputError as exc:
        # Loaded under older, laxer rules: say what to do (as `nok status` does).
        raise InputError([Problem(source_file, 0, 0, (
            f"сохранённая версия плана «{plan_id}» не проходит нынешнюю проверку ({exc.problems[0].message}); "
            "исправьте файл и загрузите его снова"))]) from None
    compiled = loaded.compiled
    sections = [(s.number or "", s.title or "") for s in compiled.plan.sections]
    index = {id(s): i for i, s in enumerate(compiled.plan.sections)}
    policies = {"": resolve(compiled.plan)} | {ci.item.id or ci.key: resolve(compiled.plan, ci.item)
                                               for ci in compiled.items}
    return CurrentPlan(plan_id, version, loaded, describe(loaded), policies, sections,
                       {ci.key: index[id(ci.section)] for ci in compiled.items})
