"""Safe YAML reading that remembers where every value came from.

Before anything is composed, the text is checked for characters YAML forbids and then
scanned as a stream of parser events (libyaml's parser is an iterative state machine, so
no input can make it recurse): nesting depth, the number of values, and what aliases
would expand to are counted there, and the scan stops at the first limit crossed. Only a
file within the limits reaches the composer, whose recursion the depth limit bounds.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves
so that each key and list element keeps its line and column, duplicate keys are errors
(PyYAML would silently keep the last), and tags other than the plain ones are refused.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from babel.numbers import format_decimal

from nok_workflow.problems import InputError, Problem

MAX_FILE_BYTES = 20 * 1024 * 1024
# A plan nests about eight levels deep (plan → sections → items → deadline → offset).
MAX_DEPTH = 50
# Region-sized plans (3,000 schools × 8 items) have ~30,000 values; beyond this limit
# validating and loading would take many seconds, and no real plan is that large.
MAX_NODES = 200_000
# Values that aliases add when expanded ("billion laughs" files expand to billions).
MAX_ALIAS_NODES = 100_000
# libyaml's composer is ~5x faster on region-sized plans; the pure-Python one is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
        message = f"файл не в кодировке UTF-8 (байт 0x{raw[exc.start]:02x}){_encoding_hint(raw)}"
        raise InputError([Problem(file, line, column, message)]) from None


def _encoding_hint(raw: bytes) -> str:
    # Almost any bytes decode as Windows-1251; only text without control characters is text.
    try:
        if not yaml.reader.Reader.NON_PRINTABLE.search(raw.decode("cp1251")):
            return "; похоже на Windows-1251 — пересохраните файл в UTF-8"
    except UnicodeDecodeError:
        pass
    return "; похоже, это не текстовый файл"


def read_text(path: Path) -> str:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Problem(file, 0, 0, f"файл слишком большой: {_number(size)} байт, "
                                                  f"предел — {MAX_FILE_BYTES // 2**20} МБ")])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, 0, 0, "файл не найден")]) from None
    except IsADirectoryError:
        raise InputError([Problem(file, 0, 0, "это каталог, а не файл")]) from None
    except PermissionError:
        raise InputError([Problem(file, 0, 0, "нет прав на чтение файла")]) from None
    return decode(raw, file)


def _number(value: int) -> str:
    return format_decimal(value, locale="ru")


# YAML's line breaks: the marks of every other message count lines the same way.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


def _line_column(text: str, index: int) -> tuple[int, int]:
    line, line_start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, line_start = line + 1, match.end()
    return line, index - line_start + 1


def _check_characters(text: str, file: str) -> None:
    """Refuse characters YAML forbids (NUL and other controls) at their place, in Russian."""
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad is None:
        return
    char = bad.group()
    kind = "управляющий символ" if unicodedata.category(char) == "Cc" else "символ"
    name = " (NUL)" if char == "\0" else ""
    total = len(yaml.reader.Reader.NON_PRINTABLE.findall(text))
    more = f"; всего таких символов в файле: {_number(total)}" if total > 1 else ""
    line, column = _line_column(text, bad.start())
    raise InputError([Problem(
        file, line, column,
        f"недопустимый {kind} U+{ord(char):04X}{name}: в YAML допустимы только печатные символы, "
        f"табуляция и переводы строк — файл повреждён или это не текст{more}",
    )])


@dataclass
class _Open:
    """A collection the scan is inside of, with what it expands to so far."""

    anchor: str | None
    line: int
    nodes: int = 1
    height: int = 1  # collections on the deepest path down from it, itself included


def _refuse(file: str, event: yaml.Event, message: str) -> InputError:
    mark = event.start_mark
    return InputError([Problem(file, mark.line + 1, mark.column + 1, message)])


def _scan(text: str, file: str) -> None:
    try:
        _scan_with(_LOADER, text, file)
    except yaml.MarkedYAMLError as exc:
        # libyaml ≥ 0.2.6 (PyYAML 6.0.3+ wheels) stops at 1,000 open brackets while its
        # scanner looks ahead, before the parser reaches our limit: rescan with the
        # pure-Python parser, which stops at level MAX_DEPTH + 1 and names that place.
        if _LOADER is yaml.SafeLoader or "maximum nesting depth" not in str(exc.problem):
            raise
        _scan_with(yaml.SafeLoader, text, file)
        raise


def _scan_with(loader: type, text: str, file: str) -> None:
    """Check depth, size and alias expansion on the parser's event stream (no composing).

    Stops at the first limit crossed, so a hostile file costs no more than a legal one.
    The expanded size and depth of every anchored node are known when its alias comes
    (anchors precede their aliases), so bombs and recursion are caught without expanding.
    """
    anchors: dict[str, tuple[int, int, int]] = {}  # name → (nodes, height, line)
    stack: list[_Open] = []
    values = expanded = documents = 0

    def add(nodes: int, height: int) -> None:
        if stack:
            stack[-1].nodes += nodes
            stack[-1].height = max(stack[-1].height, height + 1)

    def count_value(event: yaml.Event) -> None:
        nonlocal values
        values += 1
        if values > MAX_NODES:
            raise _refuse(file, event, f"план слишком большой: больше {_number(MAX_NODES)} значений YAML "
                                       "(ключей, строк, списков) — разделите его на несколько планов")

    def define(event: yaml.NodeEvent) -> None:
        # PyYAML's composer refuses a second anchor of the same name; say so in Russian.
        name = event.anchor
        if name is not None and (name in anchors or any(o.anchor == name for o in stack)):
            first = f" (строка {anchors[name][2]})" if name in anchors else ""
            raise _refuse(file, event, f"якорь YAML «&{name}» уже определён{first}")

    plain = yaml.ScalarEvent
    for event in yaml.parse(text, Loader=loader):
        if type(event) is plain and event.anchor is None:  # nine events in ten: add(1, 0) inlined
            values += 1
            if values > MAX_NODES:
                count_value(event)
            if stack:
                stack[-1].nodes += 1
            continue
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _refuse(file, event, "в файле больше одного документа YAML (---): "
                                           "план должен быть одним документом")
        elif isinstance(event, yaml.CollectionStartEvent):
            count_value(event)
            if len(stack) >= MAX_DEPTH:
                raise _refuse(file, event, f"слишком глубокая вложенность YAML: больше {MAX_DEPTH} "
                                           "уровней (в плане их около десяти) — проверьте скобки и отступы")
            define(event)
            stack.append(_Open(event.anchor, event.start_mark.line + 1))
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                anchors[done.anchor] = (done.nodes, done.height, done.line)
            add(done.nodes, done.height)
        elif isinstance(event, yaml.ScalarEvent):
            count_value(event)
            define(event)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0, event.start_mark.line + 1)
            add(1, 0)
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor
            if any(o.anchor == name for o in stack):
                raise _refuse(file, event, "рекурсивная ссылка YAML (алиас на себя)")
            if name not in anchors:
                raise _refuse(file, event, f"ссылка YAML «*{name}» на якорь «&{name}», которого выше нет")
            nodes, height, _ = anchors[name]
            expanded += nodes
            if expanded > MAX_ALIAS_NODES:
                raise _refuse(file, event, "слишком много раскрываемых ссылок YAML (алиасов): "
                                           f"больше {_number(MAX_ALIAS_NODES)} узлов")
            if len(stack) + height > MAX_DEPTH:
                raise _refuse(file, event, "слишком глубокая вложенность YAML через ссылки (алиасы): "
                                           f"больше {MAX_DEPTH} уровней")
            add(nodes, height)


# libyaml's and PyYAML's wording of the usual mistakes → what to do about them.
_SYNTAX = (
    ("mapping values are not allowed", "двоеточие здесь недопустимо — значение с «: » возьмите в кавычки"),
    ("did not find expected key", "ожидается ключ — проверьте отступы"),
    ("did not find expected ',' or ']'", "не закрыта скобка «[»: ожидается «,» или «]»"),
    ("did not find expected ',' or '}'", "не закрыта скобка «{»: ожидается «,» или «}»"),
    ("could not find expected ':'", "после ключа ожидается «:»"),
    ("found unexpected end of stream", "кавычка или скобка не закрыта до конца файла"),
    ("did not find expected node content", "ожидается значение"),
    ("did not find expected '-' indicator", "ожидается элемент списка «- » — проверьте отступы"),
    ("found a tab character", "табуляция в отступе: отступы в YAML делаются пробелами"),
    ("found unknown escape character", "неизвестная последовательность «\\» в строке в двойных кавычках"),
    ("block sequence entries are not allowed", "элемент списка «- » здесь недопустим — проверьте отступы"),
    ("did not find expected <document start>", "лишний текст после конца документа — проверьте отступы"),
    ("did not find expected alphabetic or numeric character", "после «&» или «*» ожидается имя"),
    ("did not find expected comment or line break", "после значения ожидается конец строки"),
    ("expected <block end>", "ожидается конец блока — проверьте отступы"),
    ("found character that cannot start any token",
     "с этого символа не может начинаться значение — возьмите значение в кавычки"),
)


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    problem = exc.problem or exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    if problem.startswith("found unexpected end of stream") and exc.context_mark is not None:
        mark = exc.context_mark  # where the unclosed quote opens, not the end of the file
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    if mark is not None and text[mark.index: mark.index + 1] == "\t":
        problem = "found a tab character"
    russian = next((ru for en, ru in _SYNTAX if problem.startswith(en)), None)
    message = f"ошибка синтаксиса YAML: {russian}" if russian else f"ошибка синтаксиса YAML ({problem})"
    return Problem(file, line, col, message)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_STR = "tag:yaml.org,2002:str"


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
        if node.tag == _STR:  # what the constructor would return, without its bookkeeping
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        # 2024-02-31 raises ValueError; explicitly tagged nonsense (!!bool x, !!timestamp x)
        # makes PyYAML's constructors raise whatever their code trips over.
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            self._error(node, f"недопустимое значение «{node.value}»: {_ru_value_error(exc, node)}")
            return node.value
        except yaml.YAMLError:  # a tag no safe constructor knows, e.g. !!python/name
            self._error(node, f"недопустимое значение «{node.value}»: неподдерживаемый тег YAML «{node.tag}»")
            return node.value

    def _error(self, node: yaml.Node, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, message))


def _ru_value_error(exc: Exception, node: yaml.Node) -> str:
    text = str(exc)
    if "out of range" in text or "month must be" in text:
        return "такой даты не существует"
    return f"не подходит к тегу YAML «{node.tag}»"  # e.g. «!!int x»


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a plan's data is built: a region's plan makes
    hundreds of thousands of objects, none in a cycle, and the collector would walk them all
    again and again (more than half the time of reading and expanding such a plan)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse(text: str, file: str) -> SourceDocument:
    """Parse YAML text; raise InputError with every problem found."""
    with paused_gc():
        return _parse(text, file)


def _parse(text: str, file: str) -> SourceDocument:
    _check_characters(text, file)
    try:
        _scan(text, file)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        raise InputError([_syntax_problem(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, 0, 0, f"ошибка YAML: {exc}")]) from None
    if root is None:
        raise InputError([Problem(file, 0, 0, "файл пуст")])
    builder = _Builder(file)
    data = builder.build(root, ())
    if builder.problems:
        raise InputError(builder.problems)
    return SourceDocument(file, data, builder.positions)


def load(path: Path) -> SourceDocument:
    return parse(read_text(path), str(path))
