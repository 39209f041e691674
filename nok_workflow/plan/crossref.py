"""Cross-references of a schema-valid plan: owners, groups, escalation targets, duplicate
ids and numbers, depends_on/after and escalation cycles; compiles the plan on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nok_workflow.deadlines.grammar import PlanPeriod
from nok_workflow.plan import source
from nok_workflow.plan.compiled import (
    ALL_OF_GROUP,
    CompiledItem,
    CompiledPlan,
    clean_number,
    interpret_deadline,
    item_key,
)
from nok_workflow.plan.schema import Plan
from nok_workflow.plan.schema_errors import identity
from nok_workflow.plan.schema_repair import Lost
from nok_workflow.problems import Problem

Path_ = source.Path_


def compile_plan(doc: source.SourceDocument, plan: Plan, lost: Lost | None = None,
                 original: Callable[[Path_], Path_] = identity) -> tuple[CompiledPlan, list[Problem]]:
    """The compiled plan and its cross-reference problems, at their places in the file."""
    problems: list[Problem] = []
    lost = lost or Lost()
    err = lambda path, msg: problems.append(doc.problem(original(path), msg))
    warn = lambda path, msg: problems.append(doc.problem(original(path), msg, "warning"))

    directory = _unique(plan.directory, ("directory",), err, "справочнике")
    groups = _unique(plan.groups, ("groups",), err, "группах")
    orgs = _unique(plan.organisations, ("organisations",), err, "организациях")
    for ident in set(directory) & set(orgs):
        err(("organisations", orgs[ident]), f"id «{ident}» уже есть в справочнике")
    people = set(directory) | set(orgs)
    known_people = people | lost.people  # the lost ones have errors of their own
    escalation_targets = set(directory) | lost.people

    if not lost.coordinator and plan.coordinator not in directory:
        err(("coordinator",), f"координатор «{plan.coordinator}» не найден в справочнике (directory)")
    for kind, entries in (("directory", plan.directory), ("groups", plan.groups),
                          ("organisations", plan.organisations)):
        for i, entry in enumerate(entries):
            if entry.escalates_to is not None and entry.escalates_to not in escalation_targets:
                err((kind, i, "escalates_to"), f"escalates_to: «{entry.escalates_to}» нет в справочнике")
    for i, org in enumerate(plan.organisations):
        if org.group not in groups and org.group not in lost.groups:
            err(("organisations", i, "group"), f"группа «{org.group}» не описана в groups")
    for i, entry in enumerate(plan.directory):
        if entry.organisation is not None and entry.organisation not in people:
            err(("directory", i, "organisation"), f"организация «{entry.organisation}» не найдена в справочнике")
    if plan.organisation is not None and plan.organisation not in people:
        err(("organisation",), f"организация плана «{plan.organisation}» не найдена в справочнике "
                               "(directory или organisations)")
    _check_escalation_cycles(plan, err)
    for path, policy in _escalations(plan):
        for j, level in enumerate(policy.levels or ()):
            if level.to not in ("owners", "escalates_to", "coordinator") and level.to not in known_people:
                err((*path, "levels", j, "to"), f"получатель эскалации «{level.to}» не найден в справочнике")

    members = {g: 0 for g in groups}
    for org in plan.organisations:
        if org.group in members:
            members[org.group] += 1

    # Keys first, so that references can point forward.
    keys: dict[str, tuple] = {}
    ids: dict[str, str] = {}
    for s, section in enumerate(plan.sections):
        for i, item in enumerate(section.items):
            key = item_key(section, item)
            path = ("sections", s, "items", i, "number")
            if key in keys:
                err(path, f"номер пункта «{item.number}» повторяется (пункт {key} уже есть)")
            keys.setdefault(key, path)
            if item.id is not None:
                if item.id in ids:
                    err(("sections", s, "items", i, "id"), f"id пункта «{item.id}» повторяется")
                ids.setdefault(item.id, key)

    def resolve(ref: str) -> str | None:
        return ids.get(ref) or (clean_number(ref) if clean_number(ref) in keys else None)

    period = PlanPeriod(plan.period.start, plan.period.end)
    empty_used: set[str] = set()
    compiled_items: list[CompiledItem] = []
    edges: dict[str, list[str]] = {}
    for s, section in enumerate(plan.sections):
        for i, item in enumerate(section.items):
            base = ("sections", s, "items", i)
            key = item_key(section, item)
            for j, owner in enumerate(item.owners):
                if owner.startswith(ALL_OF_GROUP):
                    group = owner[1:]
                    if group in lost.groups:
                        continue
                    if group not in groups:
                        err((*base, "owners", j), f"группа организаций «{owner}» не описана в groups")
                    elif members[group] == 0:
                        empty_used.add(group)
                elif owner not in known_people:
                    err((*base, "owners", j), f"исполнитель «{owner}» не найден в справочнике (directory)")
            if not item.owners:
                warn((*base, "owners"), f"у пункта {key} нет ответственных")
            deps = []
            for j, ref in enumerate(item.depends_on):
                target = resolve(ref)
                if target is None and lost.item(ref):
                    continue
                if target is None:
                    err((*base, "depends_on", j), f"depends_on: пункта «{ref}» нет в плане")
                elif target == key:
                    err((*base, "depends_on", j), f"пункт {key} зависит сам от себя")
                else:
                    deps.append(target)
            after_key = None
            if not isinstance(item.deadline, str) and item.deadline.after is not None:
                after_key = resolve(item.deadline.after)
                if after_key is None and lost.item(item.deadline.after):
                    pass
                elif after_key is None:
                    err((*base, "deadline", "after"), f"after: пункта «{item.deadline.after}» нет в плане")
                elif after_key == key:
                    err((*base, "deadline", "after"), f"срок пункта {key} отсчитывается от него самого")
                else:
                    deps.append(after_key)
            edges[key] = deps
            interpretation = interpret_deadline(item, period, after_key, plan.after_period_working_days)
            if not lost.period:  # a placeholder period would make every year look wrong
                for message in interpretation.errors:
                    err((*base, "deadline"), message)
                for message in interpretation.warnings:
                    warn((*base, "deadline"), message)
            compiled_items.append(CompiledItem(key, section, item, interpretation))

    if plan.report_item is not None and resolve(plan.report_item) is None and not lost.item(plan.report_item):
        err(("report_item",), f"report_item: пункта «{plan.report_item}» нет в плане")

    for group in sorted(empty_used, key=groups.__getitem__):
        warn(("groups", groups[group]), f"в группе «@{group}» нет ни одной организации: "
                                         "добавьте их в organisations")
    for cycle in _cycles(edges):
        first = cycle[0]
        err((*keys[first][:-1], "depends_on"), "циклическая зависимость пунктов: " + " → ".join(cycle + [first]))
    return CompiledPlan(plan, tuple(compiled_items)), problems


def _unique(entries: Iterable, path: tuple, err, where: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.id in seen:
            err((*path, i, "id"), f"id «{entry.id}» повторяется в {where}")
        else:
            seen[entry.id] = i
    return seen


def _escalations(plan: Plan):
    yield ("escalation",), plan.escalation
    for s, section in enumerate(plan.sections):
        for i, item in enumerate(section.items):
            if item.escalation is not None:
                yield ("sections", s, "items", i, "escalation"), item.escalation


def _check_escalation_cycles(plan: Plan, err) -> None:
    chain = {e.id: e.escalates_to for e in plan.directory if e.escalates_to}
    index = {e.id: i for i, e in enumerate(plan.directory)}
    reported: set[str] = set()
    for start in chain:
        seen, node = [], start
        while node in chain and node not in seen:
            seen.append(node)
            node = chain[node]
        if node in seen and node not in reported:
            loop = seen[seen.index(node):]
            reported.update(loop)
            err(("directory", index[node], "escalates_to"),
                "цикл в escalates_to: " + " → ".join(loop + [node]))


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once (iterative DFS, so deep plans cannot overflow the stack)."""
    state: dict[str, int] = {}
    found: list[list[str]] = []
    for root in edges:
        if state.get(root):
            continue
        stack = [(root, iter(edges.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                found.append(path[path.index(child):])
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(edges.get(child, ()))))
    return found
