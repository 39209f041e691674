"""The README's two set-up commands are the ones CI and users actually run."""

from __future__ import annotations

import re

import pytest

from tests.support.paths import ROOT


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    assert block, "README must open with a bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert "nok " in commands[0] and "pytest" in commands[1]


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci


@pytest.mark.slow
def test_the_readme_tour_runs_command_by_command(tmp_path):
    """Every command of «Короткий тур», as written, in a fresh NOK_HOME: each succeeds, and the
    story holds (the protocol closes I.1, the digests go out, the audit says so)."""
    import os
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Короткий тур.*?```bash\n(.*?)```", text, re.DOTALL)
    assert block, "README must have a «Короткий тур» bash block"
    env = {**os.environ, "NOK_DATABASE_URL": "", "PREFECT_API_URL": "", "COLUMNS": "200"}
    env.pop("NOK_NOW", None)
    bin_dir = Path(sys.executable).parent
    outputs = []
    for line in block.group(1).splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            env.update(word.split("=", 1) for word in words[1:])
            env["NOK_HOME"] = str(tmp_path / "home")  # the tour's /tmp path, made private to this test
            continue
        assert words[0].startswith(".venv/bin/"), line
        result = subprocess.run([str(bin_dir / words[0].removeprefix(".venv/bin/")), *words[1:]], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (line, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr, (line, result.stderr[-2000:])
        outputs.append(result.stdout)
    assert env["NOK_NOW"] == "2024-10-08T09:00+05:00"
    joined = "\n".join(outputs)
    for expected in ("✓ загружено: версия 1", "эскалировано (2)",
                     "✓ документ №1 принят к учёту: https://example.org/protokol, дата документа 17.09.2024",
                     "писем отправлено: 3", "пункт I.1; ещё не начато → выполнено: 1"):
        assert expected in joined, expected
