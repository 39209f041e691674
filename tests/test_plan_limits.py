"""Limits on plan files (issue 10, item 4): nesting depth, size, aliases and forbidden
characters are refused before anything is composed — at their place, in Russian, quickly,
and never with a RecursionError or a crash inside libyaml.

Timings are asserted loosely (CI is a loaded two-core machine); what they guard against is
seconds turning into minutes (the quadratic scan of deep flow collections), not milliseconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from nok_workflow.plan import source
from nok_workflow.plan.source import MAX_ALIAS_NODES, MAX_DEPTH, MAX_NODES, parse
from nok_workflow.plan.validate import load_plan, validate_document
from nok_workflow.problems import InputError
from tests.support.cli import run_nok
from tests.support.plans import MINIMAL_PLAN

SLOW = 15.0  # seconds: far above what these take, far below a hang


def refused(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse(text, "plan.yaml")
    return [str(p) for p in info.value.problems]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def plan_with_items(count: int) -> str:
    """MINIMAL_PLAN with ``count`` items in its one section."""
    head, item = MINIMAL_PLAN.split("    items:\n")
    return head + "    items:\n" + "".join(item.replace('number: "1"', f'number: "{n}"')
                                          for n in range(1, count + 1))


# --- nesting depth ------------------------------------------------------------------------

DEPTH_MESSAGE = f"слишком глубокая вложенность YAML: больше {MAX_DEPTH} уровней"


def flow_sequences(depth: int) -> str:
    return "note: " + "[" * depth + "]" * depth + "\n"


def flow_mappings(depth: int) -> str:
    return "note: " + "{a: " * depth + "1" + "}" * depth + "\n"


def block_sequences(depth: int) -> str:
    return "- " * depth + "x\n"


def indented_mappings(depth: int) -> str:
    return "".join("  " * level + "a:\n" for level in range(depth)) + "  " * depth + "x\n"


SHAPES = [flow_sequences, flow_mappings, block_sequences, indented_mappings]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 1_000, 20_000, 50_000])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_deep_nesting_is_refused_at_its_place_quickly(shape, depth):
    if shape is indented_mappings and depth > 1_000:
        depth = 1_000  # indentation makes the file quadratic in size: 1,000 levels is 1 MB
    text = shape(depth)
    start = time.perf_counter()
    problems = refused(text)
    assert time.perf_counter() - start < SLOW
    assert len(problems) == 1 and DEPTH_MESSAGE in problems[0], problems
    assert re.match(r"plan\.yaml:\d+:\d+: ", problems[0]), problems


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_the_depth_limit_is_exact(shape):
    # The flow shapes sit in a root mapping («note: …»): one level more than their brackets.
    root = 1 if shape in (flow_sequences, flow_mappings) else 0
    parse(shape(MAX_DEPTH - root), "plan.yaml")
    assert DEPTH_MESSAGE in refused(shape(MAX_DEPTH - root + 1))[0]


def test_depth_error_points_at_the_first_level_too_deep():
    text = "".join("  " * level + "a:\n" for level in range(60)) + "  " * 60 + "x\n"
    # The root mapping is level 1; the value of the 50th «a:» opens level 51 on line 51.
    assert refused(text)[0].startswith(f"plan.yaml:{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}: {DEPTH_MESSAGE}")


def test_deep_nesting_through_aliases_is_refused():
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 2 * MAX_DEPTH)]
    problems = refused("\n".join(lines) + "\n")
    assert len(problems) == 1
    assert f"слишком глубокая вложенность YAML через ссылки (алиасы): больше {MAX_DEPTH} уровней" in problems[0]


@pytest.mark.slow
def test_a_50000_deep_file_does_not_crash_the_command(tmp_path):
    """The 100 KB file that made libyaml's composer overflow the C stack (SIGSEGV)."""
    path = tmp_path / "deep.yaml"
    path.write_text(MINIMAL_PLAN + flow_sequences(50_000), encoding="utf-8")
    start = time.perf_counter()
    result = run_nok("plan", "validate", str(path))
    assert time.perf_counter() - start < SLOW
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert f"{path}:18:" in result.stderr and DEPTH_MESSAGE in result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


# --- size ---------------------------------------------------------------------------------

SIZE_MESSAGE = "план слишком большой: больше"


def test_a_50000_item_plan_is_refused_for_its_size_quickly():
    text = plan_with_items(50_000)
    start = time.perf_counter()
    problems = refused(text)
    assert time.perf_counter() - start < SLOW
    assert len(problems) == 1 and SIZE_MESSAGE in problems[0], problems
    assert "значений YAML" in problems[0] and "разделите его на несколько планов" in problems[0]
    assert "алиас" not in problems[0]  # issue 10: it has no aliases, and the message said it had
    assert re.match(r"plan\.yaml:\d+:\d+: ", problems[0])


def test_the_size_limit_counts_values_exactly():
    # A flow list of n scalars inside a mapping: 1 mapping + 1 key + 1 list + n scalars.
    def values(n: int) -> str:
        return "a: [" + ",".join(["1"] * n) + "]\n"

    parse(values(MAX_NODES - 3), "plan.yaml")
    problems = refused(values(MAX_NODES - 2))
    assert SIZE_MESSAGE in problems[0]


def test_a_large_legal_plan_still_loads_quickly(tmp_path):
    path = tmp_path / "large.yaml"
    path.write_text(plan_with_items(5_000), encoding="utf-8")
    start = time.perf_counter()
    loaded = load_plan(path)
    assert time.perf_counter() - start < SLOW
    assert len(loaded.compiled.items) == 5_000


def test_file_size_limit_names_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 1024 * 1024)
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (1024 * 1024))
    with pytest.raises(InputError) as info:
        load_plan(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: файл слишком большой: 1\u00a0048\u00a0578 байт, предел — 1 МБ"
    ]


# --- aliases ------------------------------------------------------------------------------

def test_aliases_used_as_intended_still_work(write_plan):
    text = MINIMAL_PLAN.replace("        owners: [otdel]", "        owners: &who [otdel]") + """\
      - number: "2"
        title: Второй пункт
        deadline: Май
        owners: *who
"""
    loaded = load_plan(write_plan(text))
    assert [ci.item.owners for ci in loaded.compiled.items] == [["otdel"], ["otdel"]]


def test_alias_expansion_limit_is_exact():
    anchor = "base: &b [" + ",".join(["1"] * 999) + "]\n"  # 1,000 values behind one alias
    uses = MAX_ALIAS_NODES // 1_000
    parse(anchor + "".join(f"u{i}: *b\n" for i in range(uses)), "plan.yaml")
    problems = refused(anchor + "".join(f"u{i}: *b\n" for i in range(uses + 1)))
    assert "слишком много раскрываемых ссылок YAML (алиасов)" in problems[0]


def test_billion_laughs_is_refused_quickly():
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 30)]
    assert timed(lambda: refused("\n".join(lines) + "\n")) < SLOW


# --- forbidden characters -----------------------------------------------------------------

CONTROL = "в YAML допустимы только печатные символы, табуляция и переводы строк"


@pytest.mark.parametrize(
    ("char", "shown"),
    [("\x00", "управляющий символ U+0000 (NUL)"), ("\x07", "управляющий символ U+0007"),
     ("\x0b", "управляющий символ U+000B"), ("\x1b", "управляющий символ U+001B"),
     ("\x7f", "управляющий символ U+007F"), ("\x9b", "управляющий символ U+009B"),
     ("\ufffe", "символ U+FFFE")],
)
def test_forbidden_character_is_named_at_its_place_in_russian(char, shown):
    text = MINIMAL_PLAN.replace("title: Тестовый план", f"title: Тестовый{char}план")
    assert refused(text) == [f"plan.yaml:2:16: недопустимый {shown}: {CONTROL} — файл повреждён или это не текст"]


def test_forbidden_characters_are_counted_and_lines_end_in_crlf_too():
    text = "id: x\r\ntitle: a\x00b\x00c\r\n"
    assert refused(text) == [
        f"plan.yaml:2:9: недопустимый управляющий символ U+0000 (NUL): {CONTROL} — файл повреждён или "
        "это не текст; всего таких символов в файле: 2"
    ]


def test_tabs_and_other_printable_characters_are_fine(write_plan):
    text = MINIMAL_PLAN.replace("title: Тестовый план", 'title: "Тестовый\tплан — «НОКО» № 1 😀"')
    assert load_plan(write_plan(text)).plan.title == "Тестовый\tплан — «НОКО» № 1 😀"


def test_limits_apply_to_text_from_anywhere():
    """Stored plan texts and rolled-over plans go through `parse` too, not only files."""
    with pytest.raises(InputError) as info:
        validate_document(parse(MINIMAL_PLAN + "note: " + "[" * 100 + "]" * 100 + "\n", "stored"))
    assert DEPTH_MESSAGE in str(info.value)
