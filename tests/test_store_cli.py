"""The store commands as a user runs them (real processes, SQLite under NOK_HOME)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_nok
from tests.support.paths import PLANS
from tests.support.plans import MINIMAL_PLAN

pytestmark = pytest.mark.slow  # every test runs the real `nok` in a process


@pytest.fixture
def home(tmp_path):
    """The embedded default: a SQLite file under NOK_HOME (whatever the caller's environment)."""
    return {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": ""}


def nok(home, *args):
    return run_nok(*args, env=home)


def test_load_status_submit_audit(home, tmp_path):
    plan = str(PLANS / "orenburg-raion-2024.yaml")
    first = nok(home, "plan", "load", plan, "--now", "2024-09-17")
    assert first.returncode == 0, first.stderr
    assert "Новый план «orenburg-raion-2024»" in first.stdout and "версия 1" in first.stdout
    again = nok(home, "plan", "load", plan)
    assert "не изменился" in again.stdout

    status = json.loads(nok(home, "status", "--plan", "orenburg-raion-2024", "--json", "--now", "2024-10-01").stdout)
    assert {(r["item"], r["status"]) for r in status if r["period"] == "2024-Q3"} == {
        ("I.1", "escalated"), ("III.3", "escalated")}

    pdf = tmp_path / "protokol.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    done = nok(home, "evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
               "--file", str(pdf), "--document-date", "17.09.2024", "--now", "2024-10-02")
    assert done.returncode == 0, done.stderr
    assert "дата документа 17.09.2024" in done.stdout
    # Without a running `nok serve` or Prefect server, the plan's steps run right away.
    assert "шаги плана выполнены сразу" in done.stdout
    status = json.loads(nok(home, "status", "--plan", "orenburg-raion-2024", "--json", "--now", "2024-10-02").stdout)
    assert next(r for r in status if r["item"] == "I.1")["status"] == "done"
    audit = json.loads(nok(home, "audit", "--json").stdout)
    actions = [a["action"] for a in audit]
    assert actions[:2] == ["plan.load", "evidence.submit"] and set(actions[2:]) == {"status.change"}
    changed = {a["details"]["item"]: a["details"]["transitions"] for a in audit[2:]}
    assert changed["I.1"] == {"upcoming→done": 1}
    listed = json.loads(nok(home, "evidence", "list", "--json").stdout)
    assert listed[0]["file"] == "protokol.pdf" and listed[0]["document_date"] == "2024-09-17"
    assert "orenburg-raion-2024" in nok(home, "plan", "list").stdout
    assert "версия 1" in nok(home, "plan", "history", "orenburg-raion-2024").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evidence", "submit", "--plan", "nope", "--item", "1", "--by", "x", "--url", "https://e.org"],
         "план «nope» не загружен"),
        (["evidence", "submit", "--plan", "test-plan", "--item", "1.1", "--by", "otdel", "--file", "/nonexistent.pdf"],
         "файл не найден"),
        (["evidence", "review", "1", "--by", "otdel"], "укажите ровно одно"),
        (["plan", "history", "nope"], "план «nope» не загружен"),
        (["status", "--now", "вчера"], "«вчера» — не дата"),
    ],
)
def test_store_commands_fail_cleanly(home, tmp_path, args, message):
    plan = tmp_path / "plan.yaml"
    plan.write_text(MINIMAL_PLAN, encoding="utf-8")
    assert nok(home, "plan", "load", str(plan)).returncode == 0
    result = nok(home, *args)
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr


def test_loading_an_invalid_plan_is_refused(home, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL_PLAN.replace("owners: [otdel]", "owners: [nobody]"), encoding="utf-8")
    result = nok(home, "plan", "load", str(bad))
    assert result.returncode == 1 and "исполнитель «nobody» не найден" in result.stderr
    assert "Планов нет" in nok(home, "plan", "list").stdout


def test_unreachable_database_is_a_clear_error(home):
    env = home | {"NOK_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
    result = nok(env, "plan", "list")
    assert result.returncode == 1
    assert "база данных недоступна (127.0.0.1:1/none)" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade(home):
    from nok_workflow.store.db import head_revision

    first = nok(home, "db", "upgrade")
    assert first.returncode == 0 and first.stdout.strip() == f"схема: {head_revision()} (обновлена)"
    second = nok(home, "db", "upgrade")
    assert second.stdout.strip() == f"схема: {head_revision()} (актуальна)"


def test_outbox_commands(home, tmp_path):
    plan = str(PLANS / "orenburg-raion-2024.yaml")
    assert nok(home, "plan", "load", plan, "--now", "2024-09-17").returncode == 0
    sent = nok(home, "outbox", "dispatch", "--now", "2024-09-17T09:00:00+05:00")
    assert sent.returncode == 0, sent.stderr
    assert "писем отправлено: 3" in sent.stdout  # plan-loaded notices, as .eml files (no SMTP set)
    assert len(list((tmp_path / ".nok" / "outbox").glob("*.eml"))) == 3
    mails = json.loads(nok(home, "outbox", "list", "--json").stdout)
    assert {m["status"] for m in mails} == {"sent"} and {m["day"] for m in mails} == {"2024-09-17"}
    shown = nok(home, "outbox", "show", str(mails[0]["id"]))
    assert "Тема: Изменения в плане orenburg-raion-2024: проверьте свои пункты" in shown.stdout
    assert "изменение плана, план orenburg-raion-2024, пункт — → uo: отправлено" in shown.stdout
    assert nok(home, "outbox", "show", "999").stderr.strip() == "outbox: письма №999 нет"
    assert "снова в очереди: 0" in nok(home, "outbox", "retry").stdout


def test_evidence_when_the_prefect_server_is_unreachable_says_so_and_runs_here(home):
    assert nok(home, "plan", "load", str(PLANS / "orenburg-raion-2024.yaml"), "--now", "2024-09-17").returncode == 0
    unreachable = {**home, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing listens on port 9
    result = nok(unreachable, "evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
                 "--url", "https://example.org/p", "--now", "2024-09-25")
    assert result.returncode == 0, result.stderr
    assert "сервер Prefect не принял запуск (ConnectError" in result.stdout
    assert "шаги плана выполнены здесь" in result.stdout and "Traceback" not in result.stderr
    status = json.loads(nok(home, "status", "--plan", "orenburg-raion-2024", "--json", "--now", "2024-09-25").stdout)
    assert {r["status"] for r in status if r["item"] == "I.1"} == {"done"}
