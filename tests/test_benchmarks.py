"""The benchmark command runs, small, on every benchmark: its code must not rot between the
runs that measure (timings live in docs/benchmarks.md, never in tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.figures import BEGIN, END, Section, markdown, write_into
from tests.support.postgres import PG_ADMIN, postgres_or_skip

ROOT = Path(__file__).resolve().parent.parent


def test_the_generated_part_is_replaced_and_what_people_wrote_stays(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nBefore.\n\n{BEGIN}\nold figures\n{END}\n\nHistory after.\n", encoding="utf-8")
    s = Section("Store", "how")
    s.add("load", "1,200 ms", "raw 400 ms", "≤ 3 s", True)
    s.add("status", "80 ms", target="≤ 50 ms", met=False, why="the plan is parsed on every call")
    import datetime as dt

    write_into(doc, markdown([s], "full", dt.datetime(2026, 11, 24, tzinfo=dt.UTC), 60.0))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nBefore.\n\n" + BEGIN)
    assert text.endswith(END + "\n\nHistory after.\n")
    assert "old figures" not in text
    assert "| load | 1,200 ms | raw 400 ms | ≤ 3 s | ✓ |" in text
    assert "| status | 80 ms |  | ≤ 50 ms | ✗ missed |" in text
    assert "- ✗ status: the plan is parsed on every call" in text
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.slow
def test_every_benchmark_runs_small(tmp_path: Path) -> None:
    postgres_or_skip().dispose()  # both backends, as the real run; CI fails without PostgreSQL
    out = tmp_path / "bench.md"
    doc_before = (ROOT / "docs" / "benchmarks.md").read_bytes()
    args = [sys.executable, "-m", "benchmarks", "--size", "small", "--out", str(out), "--postgres", PG_ADMIN]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOK_", "PREFECT_"))}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1400, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.rstrip().endswith(END)
    titles = re.findall(r"^### (.+)$", text, re.M)
    backends = ["SQLite", "PostgreSQL"]
    for expected in ([f"Store, {b}" for b in backends] + [f"Daily sweep, {b}" for b in backends]
                     + ["Prefect's share of a plan run", "Commands from start to exit", "`nok serve` with a region's store",
                        "Digests through SMTP"] + [f"Calendar feed, {b}" for b in backends]
                     + [f"Quarterly report, {b}" for b in backends]
                     + [f"Directory, {b}" for b in backends] + ["Directory: a list too long"]):
        assert any(t.startswith(expected) for t in titles), (expected, titles)
    rows = re.findall(r"^\| (?!measure|---)(.+?) \| (.*?) \| (.*?) \| (.*?) \| (.*?) \|$", text, re.M)
    assert len(rows) >= 40, text
    for label, value, *_ in rows:
        assert re.search(r"\d", value), (label, value)  # every figure measured, none left blank
    # The small run only checks the code; it never overwrites the measured document.
    assert (ROOT / "docs" / "benchmarks.md").read_bytes() == doc_before
