"""Safe YAML reading that remembers where every value came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves
so that each key and list element keeps its line and column, duplicate keys are errors
(PyYAML would silently keep the last), and alias expansion is bounded (a "billion laughs"
file is refused before anything walks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nok_workflow.problems import InputError, Problem

MAX_FILE_BYTES = 20 * 1024 * 1024
# libyaml's composer is ~5x faster on region-sized plans; the pure-Python one is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_EXPANDED_NODES = 200_000

Path_ = tuple[str | int, ...]


@dataclass
class SourceDocument:
    """Plain data from a YAML file plus the position of every key and list element."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """The position of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if (pos := self.positions.get(tuple(path[:end]))) is not None:
                return pos
        return (1, 1)

    def problem(self, path: Path_, message: str, severity: str = "error") -> Problem:
        line, column = self.position(path)
        return Problem(self.file, line, column, message, severity)  # type: ignore[arg-type]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text (a BOM is tolerated), or an error naming the first bad byte's place."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        hint = ""
        try:
            raw.decode("cp1251")
            hint = "; похоже на Windows-1251 — пересохраните файл в UTF-8"
        except UnicodeDecodeError:
            pass
        message = f"файл не в кодировке UTF-8 (байт 0x{raw[exc.start]:02x}){hint}"
        raise InputError([Problem(file, line, column, message)]) from None


def read_text(path: Path) -> str:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Problem(file, 0, 0, f"файл слишком большой ({size} байт)")])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, 0, 0, "файл не найден")]) from None
    except IsADirectoryError:
        raise InputError([Problem(file, 0, 0, "это каталог, а не файл")]) from None
    except PermissionError:
        raise InputError([Problem(file, 0, 0, "нет прав на чтение файла")]) from None
    return decode(raw, file)


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs and recursive aliases before constructing anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            line, col = _mark(node)
            raise InputError([Problem(file, line, col, "рекурсивная ссылка YAML (алиас на себя)")])
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_EXPANDED_NODES:
            line, col = _mark(node)
            raise InputError(
                [Problem(file, line, col, "слишком много раскрываемых ссылок YAML (алиасов): "
                         f"больше {MAX_EXPANDED_NODES} узлов")]
            )
        sizes[key] = total
        return total

    size(root)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")  # its construct_object handles scalar tags

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            self._error(node, f"неподдерживаемый тег YAML «{node.tag}»")
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._error(key_node, "ключ должен быть простым значением")
                    continue
                key = self._scalar(key_node)
                if not isinstance(key, (str, int)):
                    key = str(key)
                if key in result:
                    self._error(key_node, f"ключ «{key}» повторяется")
                    continue
                self.positions[(*path, key)] = _mark(key_node)
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.positions[(*path, index)] = _mark(child)
                items.append(self.build(child, (*path, index)))
            return items
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. a timestamp like 2024-02-31
            self._error(node, f"недопустимое значение «{node.value}»: {_ru_value_error(exc)}")
            return node.value
        except yaml.YAMLError as exc:
            self._error(node, f"недопустимое значение «{node.value}»: {exc}")
            return node.value

    def _error(self, node: yaml.Node, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, message))


def _ru_value_error(exc: ValueError) -> str:
    text = str(exc)
    if "day is out of range" in text or "month must be" in text:
        return "такой даты не существует"
    return text


def parse(text: str, file: str) -> SourceDocument:
    """Parse YAML text; raise InputError with every problem found."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = exc.problem or exc.context or "ошибка"
        raise InputError([Problem(file, line, col, f"ошибка синтаксиса YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, 0, 0, f"ошибка YAML: {exc}")]) from None
    if root is None:
        raise InputError([Problem(file, 0, 0, "файл пуст")])
    _check_expansion(root, file)
    builder = _Builder(file)
    data = builder.build(root, ())
    if builder.problems:
        raise InputError(builder.problems)
    return SourceDocument(file, data, builder.positions)


def load(path: Path) -> SourceDocument:
    return parse(read_text(path), str(path))
