"""Plan validation: schema errors and cross-references, each at its place in the file."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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
from nok_workflow.problems import InputError, Problem

Path_ = source.Path_

_TYPE_MISMATCH = {"string_type", "model_type", "dict_type", "model_attributes_type", "int_type",
                  "list_type", "bool_type", "date_type", "literal_error", "int_parsing",
                  "bool_parsing", "date_from_datetime_parsing", "date_parsing"}


@dataclass(frozen=True)
class LoadedPlan:
    file: str
    compiled: CompiledPlan
    warnings: tuple[Problem, ...]
    document: source.SourceDocument

    @property
    def plan(self) -> Plan:
        return self.compiled.plan


def load_plan(path: Path | str) -> LoadedPlan:
    """Read, validate and compile a plan file; InputError lists every error at once."""
    path = Path(path)
    return validate_document(source.load(path))


def validate_document(doc: source.SourceDocument) -> LoadedPlan:
    """Schema errors and cross-reference errors together, in file order; warnings if none."""
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "ожидается описание плана (ключи id, title, period, …)")])
    checked = _check_schema(doc)
    problems = list(checked.problems)
    if checked.plan is not None:
        compiled, found = _compile(doc, checked.plan, checked.lost, checked.original)
        problems += found
    problems.sort(key=lambda p: (p.line, p.column))  # in file order, as an editor lists them
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return LoadedPlan(doc.file, compiled, tuple(p for p in problems if p.severity == "warning"), doc)


# --- schema errors ----------------------------------------------------------------------

def schema_problems(doc: source.SourceDocument, errors: list[dict[str, Any]]) -> list[Problem]:
    """Pydantic errors with union-branch tags removed and mismatched-branch noise dropped."""
    problems = [doc.problem(e.path, e.message) for e in _located(doc.data, errors) if e.shown]
    return sorted(problems, key=lambda p: (p.line, p.column))


@dataclass(frozen=True)
class _SchemaError:
    path: Path_  # where in the data, union-branch tags removed
    union_base: Path_ | None  # the value given as either of two forms (a deadline), if any
    kind: str
    message: str
    noise: bool  # a type mismatch of the union branch the user did not mean
    shown: bool  # neither noise nor said already


def _located(data: Any, errors: list[dict[str, Any]],
             original: Callable[[Path_], Path_] | None = None) -> list[_SchemaError]:
    """Each error at its place in the file (``original`` maps a repaired copy's paths back)."""
    to_file = original or _identity
    located = []
    for err in errors:
        path, base = _real_path(data, err)
        located.append((to_file(path), None if base is None else to_file(base), err))
    # Within one union (a deadline given as text or as a mapping), type mismatches of the
    # branch the user did not mean are noise when the other branch has a real complaint.
    meaningful_unions = {
        base for _, base, err in located if base is not None and err["type"] not in _TYPE_MISMATCH
    }
    result, seen = [], set()
    for path, base, err in located:
        message = _message(path, err)
        noise = base in meaningful_unions and err["type"] in _TYPE_MISMATCH
        shown = not noise and (path, message) not in seen
        if shown:
            seen.add((path, message))
        result.append(_SchemaError(path, base, err["type"], message, noise, shown))
    return result


def _real_path(data: Any, err: dict[str, Any]) -> tuple[tuple, tuple | None]:
    path: list[Any] = []
    union_base = None
    node = data
    loc = err["loc"]
    for i, element in enumerate(loc):
        if isinstance(node, dict) and element in node or isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            node = node[element]
            path.append(element)
        elif i == len(loc) - 1 and err["type"] in ("missing", "extra_forbidden"):
            path.append(element)
        else:
            union_base = union_base or tuple(path)  # a union branch tag, not a key
    return tuple(path), union_base


def _where(path: tuple) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p + 1}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts)


def _message(path: tuple, err: dict[str, Any]) -> str:
    kind = err["type"]
    field = _where(path)
    value = err.get("input")
    shown = f"«{value}»" if isinstance(value, (str, int, float)) else ""
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return f"не хватает обязательного ключа «{path[-1]}» ({field})"
    if kind == "extra_forbidden":
        return f"неизвестный ключ «{path[-1]}» ({field}); проверьте написание"
    if kind == "string_pattern_mismatch":
        return f"{field}: недопустимое значение {shown}: {_pattern_hint(path)}"
    if kind in ("string_too_short", "too_short"):
        return f"{field}: не может быть пустым"
    if kind in ("string_too_long", "too_long"):
        return f"{field}: слишком длинное значение"
    if kind.startswith("date") or kind == "datetime_from_date_parsing":
        return f"{field}: ожидается дата ГГГГ-ММ-ДД, получено {shown or 'другое'}"
    if kind in ("int_type", "int_parsing"):
        return f"{field}: ожидается целое число, получено {shown or 'другое'}"
    if kind in ("string_type",):
        return f"{field}: ожидается строка"
    if kind in ("list_type",):
        return f"{field}: ожидается список"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{field}: ожидается набор ключей (словарь)"
    if kind in ("bool_type", "bool_parsing"):
        return f"{field}: ожидается true или false"
    if kind == "literal_error":
        return f"{field}: недопустимое значение {shown}; допустимо: {ctx.get('expected', '')}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{field}: значение {shown} вне допустимых пределов"
    if kind == "value_error":
        return f"{field}: {ctx.get('error', err['msg'])}"
    return f"{field}: {err['msg']}"


def _pattern_hint(path: tuple) -> str:
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last == "number":
        return "номер пункта пишется как в документе: 1, 1.2., 4.5, I.2"
    if last == "email":
        return "ожидается адрес электронной почты"
    if last == "owners" or (len(path) > 1 and path[-2] == "owners"):
        return "ожидается id из справочника или @группа организаций"
    return "идентификатор пишется латинскими строчными буквами, цифрами и знаками _ - ."


# --- checking the rest of a plan that has schema errors ---------------------------------
#
# A key typo must not hide an unknown owner in the same item. So the schema errors are
# taken out of a copy of the data — an unknown or invalid key is deleted, an element that
# cannot be checked without its required key is dropped (list positions are remembered, so
# every problem keeps its place in the file), a broken deadline becomes no deadline — and
# the copy is validated again until it passes; then the cross-references are checked on it.
# References to what was dropped are not reported: their target has its own error already.

_MAX_ROUNDS = 12  # each round goes at least one level up the nesting; plans are ~8 deep
_PLACEHOLDERS: dict[str, Any] = {"id": "plan", "title": "—", "coordinator": "coordinator",
                                 "period": {"start": 2000, "end": 2000}}


@dataclass
class _Lost:
    """What the schema repairs dropped: references to it are not errors of their own."""

    people: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    coordinator: bool = False
    period: bool = False

    def item(self, ref: str) -> bool:
        return bool(self.items & {ref, clean_number(ref)})


@dataclass
class _Checked:
    plan: Plan | None  # None when too little is left to check cross-references on
    problems: list[Problem]
    lost: _Lost
    original: Callable[[Path_], Path_]  # a path in ``plan`` → the same place in the file


def _identity(path: Path_) -> Path_:
    return path


def _check_schema(doc: source.SourceDocument) -> _Checked:
    try:
        return _Checked(Plan.model_validate(doc.data), [], _Lost(), _identity)
    except ValidationError as exc:
        errors = exc.errors()
    repair = _Repair(doc.data)
    problems: list[Problem] = []
    seen: set[tuple[Path_, str]] = set()
    for round_ in range(_MAX_ROUNDS):
        changed = False
        for e in _located(repair.data, errors, repair.original):
            # Later rounds also see the consequences of the repairs: not the user's errors.
            genuine = round_ == 0 or e.path not in repair.touched
            if e.shown and genuine and (e.path, e.message) not in seen:
                seen.add((e.path, e.message))
                problems.append(doc.problem(e.path, e.message))
            if not e.noise:
                changed |= repair.fix(e.path, e.union_base, e.kind)
        if not changed or repair.hopeless:
            return _Checked(None, problems, repair.lost, repair.original)
        try:
            plan = Plan.model_validate(repair.data)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        return _Checked(plan, problems, repair.lost, repair.original)
    return _Checked(None, problems, repair.lost, repair.original)


class _Repair:
    """A copy of the plan's data with schema errors taken out; paths are given in the file's
    terms and translated, since dropping list elements shifts the positions after them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.source = data
        self.data = copy.deepcopy(data)
        self.kept: dict[Path_, list[int]] = {}  # list path → its original indices still there
        self.touched: set[Path_] = set()  # what was changed: errors there are ours, not the user's
        self.lost = _Lost()
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


# --- cross-references -------------------------------------------------------------------

def _compile(doc: source.SourceDocument, plan: Plan, lost: _Lost | None = None,
             original: Callable[[Path_], Path_] = _identity) -> tuple[CompiledPlan, list[Problem]]:
    problems: list[Problem] = []
    lost = lost or _Lost()
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
            interpretation = interpret_deadline(item, period, after_key)
            if not lost.period:  # a placeholder period would make every year look wrong
                for message in interpretation.errors:
                    err((*base, "deadline"), message)
                for message in interpretation.warnings:
                    warn((*base, "deadline"), message)
            compiled_items.append(CompiledItem(key, section, item, interpretation))

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
