"""A benchmark's result: each figure beside its baseline from the same run and its target,
printed as a table and written into docs/benchmarks.md between markers."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEGIN = "<!-- python -m benchmarks: begin (generated, do not edit by hand) -->"
END = "<!-- python -m benchmarks: end -->"


@dataclass
class Figure:
    label: str
    value: str  # as shown, e.g. "1,234 ms"
    baseline: str = ""  # the same work without our code, measured in the same run
    target: str = ""
    met: bool | None = None  # None: no target, shown for context
    why: str = ""  # why a target is missed (the table says so, never a target relaxed silently)


@dataclass
class Section:
    title: str
    how: str  # one line: what was measured and on what
    figures: list[Figure] = field(default_factory=list)

    def add(self, label: str, value: str, baseline: str = "", target: str = "", met: bool | None = None,
            why: str = "") -> Figure:
        figure = Figure(label, value, baseline, target, met, why)
        self.figures.append(figure)
        return figure


def _timed(runs: int, work: Callable[[], Any], before: Callable[[], Any] | None) -> tuple[list[float], Any]:
    """Each run's seconds (`before` runs untimed ahead of each) and the last result."""
    times, result = [], None
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return times, result


def best_of(runs: int, work: Callable[[], Any], before: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """The fastest of `runs` (seconds) and the last result: the least disturbed by a noisy machine."""
    times, result = _timed(runs, work, before)
    return min(times), result


def median_of(runs: int, work: Callable[[], Any], before: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """The median of `runs` (seconds) and the last result."""
    times, result = _timed(runs, work, before)
    return statistics.median(times), result


def seconds(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}×"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "?")
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in _lines("/proc/meminfo")
                if line.startswith("MemTotal")), 0)
    return (f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def markdown(sections: list[Section], size: str, started: dt.datetime, took: float) -> str:
    return "\n".join([BEGIN, "", f"Machine: {machine()}.", "",
                      table(sections, f"{started:%Y-%m-%d %H:%M} UTC, `--size {size}`"), END]) + "\n"


def table(sections: list[Section], stamp: str = "") -> str:
    lines = []
    for section in sections:
        lines += [f"### {section.title}", ""] + ([f"_Measured {stamp}._", ""] if stamp else []) + [
            section.how, "", "| measure | value | baseline (same run) | target | |", "|---|---|---|---|---|"]
        for f in section.figures:
            mark = {True: "✓", False: "✗ missed", None: ""}[f.met]
            lines.append(f"| {f.label} | {f.value} | {f.baseline} | {f.target} | {mark} |")
        missed = [f for f in section.figures if f.met is False]
        if missed:
            lines.append("")
            lines += [f"- ✗ {f.label}: {f.why or 'reason not yet known'}" for f in missed]
        lines.append("")
    return "\n".join(lines)


def _sections_of(block: str) -> dict[str, str]:
    """The generated block's sections by title, each with its text."""
    found, title = {}, None
    for line in block.splitlines(keepends=True):
        if line.startswith("### "):
            title = line[4:].strip()
            found[title] = ""
        if title is not None and not line.startswith(END):
            found[title] += line
    return found


def write_into(doc: Path, generated: str) -> None:
    """Put the generated sections into the document: a section measured again replaces its
    old text, the others stay (a run of some benchmarks updates only theirs), and what people
    wrote around the generated part stays too."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text = text.replace("\n", f"\n\n{BEGIN}\n{END}\n", 1)
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + r"\n?", re.S)
    old = _sections_of(pattern.search(text).group(0))
    new = _sections_of(generated)
    head = generated[:generated.index("### ")] if "### " in generated else generated.replace(END + "\n", "")
    generated = head + "".join({**old, **new}.values()) + END + "\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(pattern.sub(lambda _: generated, text, count=1), encoding="utf-8")
    tmp.replace(doc)  # never a half-written document
