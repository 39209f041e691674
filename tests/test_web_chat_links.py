"""The personal page's «Напоминания в мессенджерах» over HTTP (web/executor_chats.py), on SQLite
and PostgreSQL: only configured bots, the deep link, the blocked notice, «отключить», mail_off,
CSRF, and never a bot's token. The whole way through `nok serve`: tests/test_chat_link_e2e.py."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from nok_workflow.services.commands import bot_state, chat_links, plans
from nok_workflow.tokens import upload_token
from tests.support.plans import MINIMAL_PLAN
from tests.support.web import KEY

NOW = "2024-01-10T09:00+05:00"
MOMENT = dt.datetime.fromisoformat(NOW)
TG_TOKEN = "123456789:AApage-test-token-SECRET"
MAX_TOKEN = "max-page-test-token-SECRET"
BASE = f"/u/test-plan/otdel/{upload_token(KEY, 'test-plan', 'otdel')}"


def _client(app) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1:8470", follow_redirects=False)
    c.get(BASE)
    return c


def _post(c: TestClient, path: str, **data: str):
    return c.post(BASE + path, data={"csrf": c.cookies.get("nok_csrf"), **data})


def _setup(engine, write_plan):
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)
    for channel, name in (("telegram", "nok_uo_bot"), ("max", "nok_uo_max_bot")):
        bot_state.take_lease(engine, channel, "test", now=MOMENT)
        bot_state.save(engine, channel, "test", now=MOMENT, username=name)


def test_no_bot_configured_no_section(engine, write_plan, app_of):
    _setup(engine, write_plan)
    c = _client(app_of(engine, now=NOW))
    assert "Напоминания в мессенджерах" not in c.get(BASE).text
    assert _post(c, "/chat/telegram").status_code == 404


def test_the_section_the_deep_link_blocked_unlink_and_mail_off(engine, write_plan, app_of):
    _setup(engine, write_plan)
    c = _client(app_of(engine, now=NOW, telegram_token=TG_TOKEN))
    page = c.get(BASE).text
    assert "Получать напоминания в Telegram" in page and "в MAX" not in page  # MAX has no token here
    assert _post(c, "/chat/max").status_code == 404
    assert c.post(BASE + "/chat/telegram", data={}).status_code == 403  # no CSRF token: nothing issued
    shown = _post(c, "/chat/telegram")
    assert shown.status_code == 200
    assert 'href="https://t.me/nok_uo_bot?start=' in shown.text and "30 минут" in shown.text
    token = shown.text.split("https://t.me/nok_uo_bot?start=", 1)[1].split('"', 1)[0]
    assert chat_links.link(engine, "telegram", "42", token, now=MOMENT).changed
    page = c.get(BASE).text
    assert "Telegram подключён" in page and "Только в мессенджере, без почты" in page
    assert _post(c, "/chats/mail", mail_off="1").status_code == 303
    assert "checked" in c.get(BASE).text.split("Только в мессенджере")[0].rsplit("<input", 1)[1]
    assert chat_links.blocked(engine, channel="telegram", chat_id="42", now=MOMENT) == 1
    page = c.get(BASE).text
    assert "Бот заблокирован в Telegram — напоминания туда не идут" in page
    again = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram", now=MOMENT)
    chat_links.link(engine, "telegram", "42", again, now=MOMENT)
    assert _post(c, "/chat/telegram/off").status_code == 303
    page = c.get(BASE).text
    assert "Telegram подключён" not in page and "заблокирован" not in page
    assert TG_TOKEN not in page and TG_TOKEN.split(":")[1] not in shown.text


def test_both_bots_and_a_bot_whose_name_is_not_known_yet(engine, write_plan, app_of):
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)
    c = _client(app_of(engine, now=NOW, telegram_token=TG_TOKEN, max_token=MAX_TOKEN))
    page = c.get(BASE).text
    assert "Получать напоминания в Telegram" in page and "Получать напоминания в MAX" in page
    shown = _post(c, "/chat/max").text
    assert "ещё не ответил серверу" in shown and "max.ru/" not in shown  # no username from /me yet
    assert MAX_TOKEN not in shown and TG_TOKEN not in shown
