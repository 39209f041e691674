"""Pydantic schema errors as Russian problems, each at its place in the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nok_workflow.plan import source
from nok_workflow.problems import Problem

Path_ = source.Path_

_TYPE_MISMATCH = {"string_type", "model_type", "dict_type", "model_attributes_type", "int_type",
                  "list_type", "bool_type", "date_type", "literal_error", "int_parsing",
                  "bool_parsing", "date_from_datetime_parsing", "date_parsing"}


def schema_problems(doc: source.SourceDocument, errors: list[dict[str, Any]]) -> list[Problem]:
    """Pydantic errors with union-branch tags removed and mismatched-branch noise dropped."""
    problems = [doc.problem(e.path, e.message) for e in locate_errors(doc.data, errors) if e.shown]
    return sorted(problems, key=lambda p: (p.line, p.column))


@dataclass(frozen=True)
class SchemaError:
    path: Path_  # where in the data, union-branch tags removed
    union_base: Path_ | None  # the value given as either of two forms (a deadline), if any
    kind: str
    message: str
    noise: bool  # a type mismatch of the union branch the user did not mean
    shown: bool  # neither noise nor said already


def locate_errors(data: Any, errors: list[dict[str, Any]],
                  original: Callable[[Path_], Path_] | None = None) -> list[SchemaError]:
    """Each error at its place in the file (``original`` maps a repaired copy's paths back)."""
    to_file = original or identity
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
        result.append(SchemaError(path, base, err["type"], message, noise, shown))
    return result


def identity(path: Path_) -> Path_:
    """The path mapping when nothing was repaired: every path is its own place in the file."""
    return path


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
