"""Bad-input corpus: command-line arguments, moments, secrets and the store's address.
Each case runs the real `nok` and checks the message, exit 1, no traceback, nothing written."""

from __future__ import annotations

import shutil

import pytest

from tests.support.badinput import assert_refused, nok, snapshot
from tests.support.paths import PLANS

pytestmark = pytest.mark.slow  # every case runs the real `nok` in a process

PLAN = "orenburg-raion-2024"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store with the Оренбург plan loaded and swept on 08.10.2024 (made once, copied per case)."""
    home = tmp_path_factory.mktemp("loaded") / ".nok"
    assert nok("plan", "load", str(PLANS / f"{PLAN}.yaml"), "--now", "2024-09-17", home=home).returncode == 0
    assert nok("sweep", "--now", "2024-10-08T09:00+05:00", home=home).returncode == 0
    return home


@pytest.fixture
def home(loaded, tmp_path):
    copy = tmp_path / ".nok"
    shutil.copytree(loaded, copy)
    return copy


SUBMIT = ("evidence", "submit", "--plan", PLAN, "--item", "I.2", "--by", "sovet", "--url", "https://example.org/d")

CASES = [
    # moments
    (("status", "--now", "завтра"), {}, "--now: «завтра» — не дата"),
    (("status", "--now", "2024-13-01"), {}, "«2024-13-01» — не дата"),
    (("status", "--now", "31.12.2024"), {}, "«31.12.2024» — не дата"),
    (("status", "--now", "9999-12-30"), {}, "год 9999 вне 1970–2200"),
    (("status", "--now", "0001-01-01"), {}, "год 1 вне 1970–2200"),
    (("sweep", "--now", "1969-07-20"), {}, "год 1969 вне 1970–2200"),
    (("outbox", "dispatch", "--now", "2201-01-01"), {}, "год 2201 вне 1970–2200"),
    ((*SUBMIT, "--now", "2024-02-30"), {}, "«2024-02-30» — не дата"),
    (("status",), {"NOK_NOW": "вчера"}, "NOK_NOW: «вчера» — не дата"),
    (("sweep", "--now", "2024-10-01"), {}, "уже выполнялся за 08.10.2024; запуск за 01.10.2024 — в прошлом"),
    ((*SUBMIT, "--now", "2024-10-02"), {}, "уже выполнялся за 08.10.2024; запуск за 02.10.2024 — в прошлом"),
    (SUBMIT, {"NOK_NOW": "2024-09-20"}, "--allow-past"),
    # plans, people, mails that are not there
    (("status", "--plan", "nope"), {}, "--plan: план «nope» не загружен; загружены: orenburg-raion-2024"),
    (("sweep", "--plan", "nope"), {}, "план «nope» не загружен"),
    (("status", "--owner", "nobody"), {}, "«nobody» нет в справочнике загруженных планов"),
    (("status", "--plan", PLAN, "--org", "school-1"), {}, "«school-1» нет в справочнике плана «orenburg-raion-2024»"),
    (("plan", "history", "nope"), {}, "план «nope» не загружен"),
    (("outbox", "show", "999"), {}, "письма №999 нет"),
    (("outbox", "retry", "999"), {}, "письма №999 нет"),
    (("outbox", "list", "--status", "bogus"), {}, "состояния «bogus» нет; бывают: pending (ждёт отправки)"),
    (("evidence", "review", "99", "--accept", "--by", "uo"), {}, "документа №99 нет"),
    (("evidence", "review", "1", "--by", "uo"), {}, "укажите ровно одно: --accept или --reject «причина»"),
    (("evidence", "submit", "--plan", "nope", "--item", "I.1", "--by", "sovet", "--url", "https://e.org/x"), {},
     "план «nope» не загружен"),
    (("evidence", "submit", "--plan", PLAN, "--item", "9.9", "--by", "sovet", "--url", "https://e.org/x"), {},
     "в плане «orenburg-raion-2024» нет пункта «9.9»"),
    (("waive", "--plan", PLAN, "--item", "I.1", "--reason", "x", "--by", "sovet"), {},
     "снять обязательство может только координатор плана (uo)"),
    (("plan", "deploy", PLAN), {}, "сервер Prefect не настроен: задайте PREFECT_API_URL"),
    # secrets
    (("outbox", "dispatch"), {"NOK_SECRET": "a"}, "NOK_SECRET: секрет короче 32 байт (1)"),
    (("outbox", "dispatch"), {"NOK_SECRET": "x" * 31}, "секрет короче 32 байт (31)"),
    # the store's address
    (("status",), {"NOK_DATABASE_URL": "foo://bar"}, "NOK_DATABASE_URL: «foo://bar» — не адрес базы данных"),
    (("status",), {"NOK_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"},
     "NOK_DATABASE_URL: база данных недоступна (127.0.0.1:1/x)"),
]


@pytest.mark.parametrize(("args", "env", "message"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_refused(home, args, env, message):
    before = snapshot(home)
    result = nok(*args, home=home, env=env)
    assert_refused(result, message, before=before, after=snapshot(home))


def test_an_empty_secret_file_is_refused_and_kept(home):
    (home / "secret.key").write_text("", encoding="utf-8")
    (home / "secret.key").chmod(0o600)
    before = snapshot(home)
    assert_refused(nok("outbox", "dispatch", home=home), "ключ пуст или короче 32 байт (0)",
                   before=before, after=snapshot(home))


def test_a_refused_plan_on_an_empty_home_creates_no_store(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("id: x\ntitle: [\n", encoding="utf-8")
    home = tmp_path / ".nok"
    result = nok("plan", "load", str(bad), home=home)
    assert_refused(result, str(bad))
    assert not home.exists() or not any(home.rglob("*.db")), "a refused load created the store"
