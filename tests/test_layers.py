"""The layers' contracts (pyproject.toml, [tool.importlinter]) hold, and the pure core reads
no clock: a broken contract fails the suite, and so .ci/run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
CORE = ["deadlines", "plan", "expand.py", "status.py", "reminders.py", "policy.py"]


def lint(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), str(config), "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_every_contract_is_kept():
    result = lint(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout
    assert "Contracts: 6 kept, 0 broken." in result.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: a web module that opens a session breaks the same kind of contract."""
    package = tmp_path / "shop"
    (package / "web").mkdir(parents=True)
    (package / "store").mkdir()
    for folder in (package, package / "web", package / "store"):
        (folder / "__init__.py").write_text("")
    (package / "store" / "db.py").write_text("SESSION = object()\n")
    (package / "web" / "page.py").write_text("from shop.store.db import SESSION\n")
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["shop"]\n\n[[tool.importlinter.contracts]]\n'
                      'name = "pages open no session"\ntype = "forbidden"\nsource_modules = ["shop.web"]\n'
                      'forbidden_modules = ["shop.store.db"]\n')
    result = lint(config, tmp_path)
    assert result.returncode != 0
    assert "pages open no session BROKEN" in result.stdout


def clock_reads(source: str) -> list[str]:
    """Calls that read the clock: datetime.now/utcnow/today, date.today, time.time/monotonic."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {
                "now", "utcnow", "today", "time", "monotonic", "perf_counter"}:
            owner = ast.unparse(node.func.value)
            if owner.split(".")[-1] in {"datetime", "date", "dt", "time"}:
                found.append(f"{owner}.{node.func.attr}() line {node.lineno}")
    return found


def test_the_pure_core_reads_no_clock():
    package = ROOT / "nok_workflow"
    files = [p for name in CORE for p in ([package / name] if name.endswith(".py")
                                          else sorted((package / name).rglob("*.py")))]
    assert len(files) > 10
    reads = {str(p.relative_to(ROOT)): r for p in files if (r := clock_reads(p.read_text(encoding="utf-8")))}
    assert reads == {}
    assert clock_reads("import datetime as dt\nx = dt.date.today()\n") == ["dt.date.today() line 2"]
