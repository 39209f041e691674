"""`nok campaign …` as a user runs it: real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.cli import run_nok
from tests.support.paths import PLANS

pytestmark = pytest.mark.slow  # every test runs the real `nok` in a process
SOSH5 = PLANS / "shortcomings-sosh5-2025.yaml"
NOW = "2025-03-10T09:00+03:00"


@pytest.fixture
def nok(db_url, tmp_path):
    env = {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url}
    return lambda *args: run_nok(*args, env=env)


def test_create_list_add_a_plan_and_show(nok, tmp_path):
    assert nok("plan", "load", str(SOSH5), "--now", NOW).returncode == 0
    made = nok("campaign", "create", "НОК 2024", "--year", "2024", "--owner", "uo", "--now", NOW)
    assert made.returncode == 0 and "id nok-2024" in made.stdout
    bad = nok("campaign", "create", "НОК 2024", "--year", "двадцать", "--owner", "uo")
    assert bad.returncode == 1 and "год кампании «двадцать» записан неверно" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert nok("campaign", "add-plan", "nok-2024", "shortcomings-sosh5-2025", "--now", NOW).returncode == 0
    listed = nok("campaign", "list", "--owner", "uo")
    assert "nok-2024 · 2024 · НОК 2024 · планов: 1" in listed.stdout
    shown = nok("campaign", "show", "nok-2024", "--now", NOW)
    assert shown.returncode == 0 and "МБОУ «СОШ № 5» [shortcomings-sosh5-2025]: выполнено" in shown.stdout
    twin = tmp_path / "twin.yaml"
    twin.write_text(SOSH5.read_text(encoding="utf-8").replace("id: shortcomings-sosh5-2025", "id: twin", 1),
                    encoding="utf-8")
    assert nok("plan", "load", str(twin), "--now", NOW).returncode == 0
    second = nok("campaign", "add-plan", "nok-2024", "twin", "--now", NOW)
    assert second.returncode == 1 and "уже есть план организации «sosh-5» на 2025 год" in second.stderr
    unknown = nok("campaign", "show", "nope")
    assert unknown.returncode == 1 and "кампании «nope» нет" in unknown.stderr
