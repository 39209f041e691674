"""`nok directory …` as a user runs it: real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_nok
from tests.support.plans import DIRECTORY_PLAN as PLAN

pytestmark = pytest.mark.slow  # every test runs the real `nok` in a process


@pytest.fixture
def nok(db_url, tmp_path):
    env = {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url}
    return lambda *args: run_nok(*args, env=env)


def test_missing_set_email_import_and_list(nok, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    assert nok("plan", "load", str(plan), "--now", "2024-01-01").returncode == 0
    missing = json.loads(nok("directory", "missing", "--json").stdout)
    assert {(r["id"], r["open"]) for r in missing} == {("sch-1", 4), ("sch-2", 4), ("sovet", 1)}

    bad = nok("directory", "set-email", "sovet", "sovet@@example")
    assert bad.returncode == 1 and "«sovet@@example» — не адрес электронной почты" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = nok("directory", "set-email", "sovet", "sovet@example.org")
    assert ok.returncode == 0 and "в планах: 1" in ok.stdout

    listing = tmp_path / "список.csv"
    listing.write_bytes("Наименование;Адрес эл. почты\nМБОУ «СОШ № 1»;s1@example.org\nСад № 3;нет адреса\n"
                        .encode("cp1251"))
    refused = nok("directory", "import", str(listing), "--apply")
    assert refused.returncode == 1
    assert "список.csv, строка 3: «нет адреса» — не адрес электронной почты" in refused.stdout
    assert "ничего не записано" in refused.stderr
    listing.write_bytes(listing.read_bytes().replace("нет адреса".encode("cp1251"), b"sad3@example.org"))
    preview = nok("directory", "import", str(listing))
    assert preview.returncode == 0 and "Новых записей: 2" in preview.stdout and "Ничего не записано" in preview.stdout
    assert json.loads(nok("directory", "list", "--json").stdout) == [
        {"id": "sovet", "kind": "unit", "name": "Общественный совет", "short_name": None, "email": "sovet@example.org",
         "aliases": [], "group_id": None, "code": None}]
    applied = nok("directory", "import", str(listing), "--apply")
    assert applied.returncode == 0 and "добавлено 2" in applied.stdout
    assert {r["id"] for r in json.loads(nok("directory", "missing", "--json").stdout)} == {"sch-2"}


def test_whose_directory_when_not_said(nok, tmp_path):
    empty = nok("directory", "list")
    assert empty.returncode == 1 and "нет ни учётных записей, ни планов" in empty.stderr
    for plan_id, who in (("a", "uo"), ("b", "other")):
        path = tmp_path / f"{plan_id}.yaml"
        path.write_text(PLAN.replace("id: dir-plan", f"id: {plan_id}").replace("coordinator: uo", f"coordinator: {who}")
                        .replace("  - id: uo\n", f"  - id: {who}\n"), encoding="utf-8")
        assert nok("plan", "load", str(path)).returncode == 0
    two = nok("directory", "missing")
    assert two.returncode == 1 and "координаторов несколько (other, uo)" in two.stderr and "--coordinator" in two.stderr
    assert nok("directory", "missing", "--coordinator", "other").returncode == 0
    unknown = nok("directory", "list", "--coordinator", "ghost")
    assert unknown.returncode == 1 and "координатора «ghost» нет" in unknown.stderr
