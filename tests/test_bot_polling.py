"""The bots' pollers (runtime/bot_polling.py) against the local stubs, on SQLite and PostgreSQL:
of two pollers on one store one polls, the other takes over when it stops; errors are said
without the token and never stop the polling."""

from __future__ import annotations

import datetime as dt
import logging
import time

from nok_workflow.runtime.bot_polling import BotConfig, BotPoller
from nok_workflow.services.commands import audit, bot_state, chat_links, plans
from nok_workflow.services.read import chat_links as chat_view
from tests.support.bot_stubs import max_stub, telegram_stub
from tests.support.plans import MINIMAL_PLAN

NOW = "2024-01-10T09:00+00:00"
FAST = {"now": NOW, "poll_timeout": 1, "idle": 0.2, "lease": dt.timedelta(seconds=5)}


def _until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_pollers_one_polls_and_the_other_takes_over(engine, write_plan):
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=dt.datetime.fromisoformat(NOW))
    with telegram_stub() as tg:
        config = BotConfig("telegram", tg.token, tg.api_url)
        first = BotPoller(engine, config, **FAST).start()
        try:
            _until(lambda: first.polling and tg.requests_to("getUpdates"))
            second = BotPoller(engine, config, **FAST).start()
            try:
                time.sleep(1.0)
                assert first.polling and not second.polling
                assert len(tg.requests_to("getMe")) == 1 and len(tg.requests_to("deleteWebhook")) == 1
                assert chat_view.username(engine, "telegram") == "nok_test_bot"
                token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram",
                                               now=dt.datetime.fromisoformat(NOW))
                tg.start(42, token)
                reply = tg.wait_sent(lambda m: m.chat_id == "42")
                assert reply.text.startswith("Готово: напоминания по плану «Тестовый план» для «Отдел образования»")
                first.stop()
                _until(lambda: second.polling)  # released: the second takes over at once
                tg.write(42, "/stop")
                stopped = tg.wait_sent(lambda m: m.chat_id == "42" and m.text.startswith("Напоминания сюда"))
                assert "«Тестовый план»" in stopped.text
                assert chat_view.live_links(engine, channel="telegram", chat_id="42") == []
                _until(lambda: bot_state.offset(engine, "telegram") == str(tg.requests_to("getUpdates") and 4))
                assert len(tg.sent) == 2  # each update answered once
            finally:
                second.stop()
        finally:
            first.stop()


def test_errors_are_said_without_the_token_and_polling_goes_on(engine, write_plan, caplog):
    caplog.set_level(logging.INFO)
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=dt.datetime.fromisoformat(NOW))
    with telegram_stub() as tg, max_stub() as mx:
        tg.fail("getMe", 401)
        tg.fail("getUpdates", 500)
        mx.fail("updates", 503)
        mx.block(77)
        pollers = [BotPoller(engine, BotConfig("telegram", tg.token, tg.api_url), **FAST).start(),
                   BotPoller(engine, BotConfig("max", mx.token, mx.api_url), **FAST).start()]
        try:
            token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="max",
                                           now=dt.datetime.fromisoformat(NOW))
            mx.start(501, token)
            assert mx.wait_sent(lambda m: m.chat_id == "501").text.startswith("Готово")
            assert [link.party_id for link in chat_view.live_links(engine, channel="max", chat_id="501")] == ["otdel"]
            tg.write(42, "привет")
            assert tg.wait_sent(lambda m: m.chat_id == "42").text == chat_links.HELP
            # The reply to a chat that blocked the bot: its links end as «blocked».
            second = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="max",
                                            now=dt.datetime.fromisoformat(NOW))
            mx.start(77, second)
            _until(lambda: [e.details for e in audit.events(engine) if e.action == "chat.unlink"] == [
                {"party": "otdel", "channel": "max", "chat": "77", "reason": "blocked"}])
            assert [link.chat_id for link in chat_view.live_links(engine, channel="max", chat_id="501")] == ["501"]
        finally:
            for poller in pollers:
                poller.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "nok"]
    assert any("Telegram: опрос бота не удался (Telegram getMe: 401 Unauthorized)" in line for line in said)
    assert any("MAX: опрос бота не удался" in line and "503" in line for line in said)
    for line in [r.getMessage() for r in caplog.records]:
        assert tg.token not in line and mx.token not in line
