"""The suite's layout: test modules share helpers through tests/support/ only — none imports
another test module or tests/conftest.py (fixtures come from conftest by name, never by
import), so each module can run alone, on any xdist worker, in any order."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"


def _forbidden(module: str) -> bool:
    """`tests.conftest` and `tests.test_*`, or a relative name of them."""
    last = module.rsplit(".", 1)[-1]
    return module in ("tests.conftest", "conftest") or module.startswith("tests.test_") or (
        "." not in module and (last == "conftest" or last.startswith("test_")))


def bad_imports(path: Path) -> list[str]:
    """Each import in `path` of tests.conftest or of a test module, as «file:line: module»."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 0 and base == "tests":  # from tests import conftest
                modules = [f"tests.{alias.name}" for alias in node.names]
            elif node.level > 0 and not base:  # from . import conftest
                modules = [alias.name for alias in node.names]
            else:
                modules = [base]
        found += [f"{path.name}:{node.lineno}: {m}" for m in modules if _forbidden(m)]
    return found


def checked_files(tests: Path) -> list[Path]:
    return sorted(tests.glob("test_*.py")) + sorted((tests / "support").glob("*.py"))


def test_no_test_module_or_helper_imports_another_test_module_or_conftest():
    files = checked_files(TESTS)
    assert len(files) > 60 and TESTS / "support" / "paths.py" in files
    assert [bad for path in files for bad in bad_imports(path)] == []


def test_the_check_finds_each_kind_of_bad_import(tmp_path):
    (tmp_path / "support").mkdir()
    bad = {
        "test_a.py": "from tests.conftest import PLANS\n",
        "test_b.py": "def f():\n    from tests.test_mail import Handler\n",
        "test_c.py": "import tests.test_serve\n",
        "test_d.py": "from tests import conftest, test_flows\n",
        "test_e.py": "from .test_mail import smtp\nfrom . import conftest\n",
    }
    good = {
        "test_ok.py": "from tests.support.mail import Handler\nimport pytest\nfrom tests import support\n",
        "support/helpers.py": "from tests.support.paths import ROOT\n",
    }
    (tmp_path / "support" / "bad.py").write_text("from tests.conftest import ROOT\n", encoding="utf-8")
    for name, text in {**bad, **good}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    files = checked_files(tmp_path)
    assert {p.name for p in files} == {*bad, "test_ok.py", "helpers.py", "bad.py"}
    found = {path.name: bad_imports(path) for path in files}
    assert found == {
        "test_a.py": ["test_a.py:1: tests.conftest"],
        "test_b.py": ["test_b.py:2: tests.test_mail"],
        "test_c.py": ["test_c.py:1: tests.test_serve"],
        "test_d.py": ["test_d.py:1: tests.conftest", "test_d.py:1: tests.test_flows"],
        "test_e.py": ["test_e.py:1: test_mail", "test_e.py:2: conftest"],
        "test_ok.py": [], "helpers.py": [], "bad.py": ["bad.py:1: tests.conftest"],
    }
