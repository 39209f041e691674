"""The bot clients (notifiers/bots.py) against the local Telegram and MAX stubs
(tests/support/bot_stubs.py): real HTTP on a real port, each answer and fault as the APIs send them,
and the Telegram token nowhere — not in an outcome, an exception or a log line."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from notifiers.bots import BotError, MaxBot, TelegramBot
from tests.support.bot_stubs import max_stub, refused_url, telegram_stub

LINK = ("Открыть страницу", "http://127.0.0.1:8470/e/abc")


def run(coro):
    return asyncio.run(coro)


async def _with(bot, call):
    async with bot:
        return await call(bot)


def test_telegram_get_me_delete_webhook_and_send_with_a_button():
    with telegram_stub() as tg:
        bot = TelegramBot(tg.token, tg.api_url)

        async def go(b):
            return await b.get_me(), await b.delete_webhook(), await b.send("42", "Срок завтра", LINK)
        username, _, outcome = run(_with(bot, go))
        assert username == "nok_test_bot"
        assert outcome.delivered and not outcome.permanent and outcome.reached
        sent = tg.wait_sent()
        assert (sent.chat_id, sent.text, sent.button) == ("42", "Срок завтра", LINK)
        assert [r.path.rsplit("/", 1)[-1] for r in tg.requests] == ["getMe", "deleteWebhook", "sendMessage"]
        assert "parse_mode" not in tg.requests[-1].params
        html = run(_with(TelegramBot(tg.token, tg.api_url), lambda b: b.send("42", "<b>Срок</b>", format="html")))
        assert html.delivered and tg.requests[-1].params["parse_mode"] == "HTML"


def test_telegram_updates_long_poll_confirm_by_offset_and_read_start():
    with telegram_stub() as tg:
        bot = TelegramBot(tg.token, tg.api_url)

        async def go(b):
            started = time.monotonic()
            empty, offset = await b.get_updates(None, timeout=1)
            waited = time.monotonic() - started
            tg.start(chat_id=42, payload="TOKEN1")
            tg.write(chat_id=43, text="/stop")
            tg.write(chat_id=44, text="/start")
            first, offset = await b.get_updates(offset, timeout=5)
            again, offset2 = await b.get_updates(offset, timeout=0)
            return empty, waited, first, offset, again, offset2
        empty, waited, first, offset, again, offset2 = run(_with(bot, go))
    assert empty == [] and waited >= 0.9  # it waited for an update: a real long poll
    assert [(u.chat_id, u.user_id, u.text, u.start) for u in first] == [
        ("42", "42", "/start TOKEN1", "TOKEN1"), ("43", "43", "/stop", None), ("44", "44", "/start", "")]
    assert again == [] and offset2 == offset == "4"
    assert tg.pending_updates() == 0  # the stub dropped what the offset confirmed


def test_telegram_long_poll_returns_when_an_update_arrives():
    with telegram_stub() as tg:
        async def go(b):
            asyncio.get_running_loop().call_later(0.3, tg.start, 7, "X")
            return await b.get_updates(None, timeout=20)
        started = time.monotonic()
        updates, _ = run(_with(TelegramBot(tg.token, tg.api_url), go))
        assert [u.start for u in updates] == ["X"] and time.monotonic() - started < 15


def test_telegram_send_faults_become_outcomes():
    with telegram_stub() as tg:
        tg.fail("sendMessage", 429, retry_after=3)
        tg.fail("sendMessage", 500)
        tg.fail("sendMessage", 400)
        tg.block(99)

        async def go(b):
            return [await b.send("42", "a"), await b.send("42", "b"), await b.send("42", "c"),
                    await b.send("99", "d"), await b.send("42", "x" * 5000), await b.send("42", "e")]
        limited, broken, bad, blocked, too_long, fine = run(_with(TelegramBot(tg.token, tg.api_url), go))
    assert (limited.delivered, limited.permanent, limited.retry_after) == (False, False, 3.0)
    assert "429" in limited.response and "retry after 3" in limited.response
    assert (broken.delivered, broken.permanent, broken.reached) == (False, False, True)
    assert (bad.delivered, bad.permanent, bad.blocked) == (False, True, False)
    assert (blocked.delivered, blocked.permanent, blocked.blocked) == (False, True, True)
    assert "blocked" in blocked.response
    assert too_long.permanent and "too long" in too_long.response
    assert fine.delivered


def test_unreachable_servers_refused_and_black_hole():
    with telegram_stub() as tg, max_stub() as mx:
        tg.fail("sendMessage", "hang")
        mx.fail("messages", "hang")

        async def go():
            async with TelegramBot(tg.token, refused_url()) as refused, \
                    TelegramBot(tg.token, tg.api_url, timeout=1) as slow, \
                    MaxBot(mx.token, mx.api_url, timeout=1) as slow_max:
                return await refused.send("1", "a"), await slow.send("1", "a"), await slow_max.send("1", "a")
        for outcome in run(go()):
            assert (outcome.delivered, outcome.permanent, outcome.reached) == (False, False, False), outcome


def test_telegram_calls_other_than_send_raise_bot_error():
    with telegram_stub() as tg:
        tg.fail("getUpdates", 500)
        with pytest.raises(BotError) as wrong:
            run(_with(TelegramBot("1:wrong-token-SECRET", tg.api_url), lambda b: b.get_me()))
        assert wrong.value.status == 401 and "getMe" in str(wrong.value)
        with pytest.raises(BotError) as failed:
            run(_with(TelegramBot(tg.token, tg.api_url), lambda b: b.get_updates(None, 0)))
        assert failed.value.status == 500
        with pytest.raises(BotError) as refused:
            run(_with(TelegramBot(tg.token, refused_url()), lambda b: b.get_me()))
        assert refused.value.status is None


def test_the_telegram_token_never_shows(caplog):
    """Every path — ok, each fault, refused, timeout, wrong token — and the logs at DEBUG (httpx
    logs each request's URL, which holds the token)."""
    caplog.set_level(logging.DEBUG)
    texts = []
    with telegram_stub() as tg:
        for status in (429, 403, 400, 500, "hang"):
            tg.fail("sendMessage", status)
        tg.fail("getUpdates", 502)

        async def go():
            async with TelegramBot(tg.token, tg.api_url, timeout=1) as bot:
                texts.extend([repr(await bot.send("42", "t")) for _ in range(6)])
                texts.append(repr(bot))
                for call in (lambda: bot.get_updates(None, 0),):
                    try:
                        await call()
                    except BotError as e:
                        texts.append(f"{e!r} {e}")
            async with TelegramBot(tg.token, refused_url()) as bot:
                texts.append(repr(await bot.send("42", "t")))
                try:
                    await bot.get_me()
                except BotError as e:
                    texts.append(str(e))
        run(go())
    assert len(texts) == 10
    assert caplog.records and any("/bot<token>/sendMessage" in r.getMessage() for r in caplog.records)
    for text in texts + [r.getMessage() for r in caplog.records]:
        assert tg.token not in text and tg.token.split(":")[1] not in text, text


def test_max_me_updates_and_send_with_a_link_button_token_in_the_header_only():
    with max_stub() as mx:
        mx.webhooks.append("https://example.invalid/hook")

        async def go(b):
            username = await b.get_me()
            await b.delete_webhook()
            mx.start(chat_id=501, payload="TOKEN2")
            mx.write(chat_id=502, text="/stop")
            updates, marker = await b.get_updates(None, timeout=5)
            again, marker2 = await b.get_updates(marker, timeout=0)
            sent = await b.send("501", "Готово", LINK, format="markdown")
            return username, updates, marker, again, marker2, sent
        username, updates, marker, again, marker2, sent = run(_with(MaxBot(mx.token, mx.api_url), go))
        assert username == "nok_test_max_bot" and mx.webhooks == []
        assert [(u.chat_id, u.text, u.start) for u in updates] == [("501", "", "TOKEN2"), ("502", "/stop", None)]
        assert updates[0].user_id and again == [] and marker2 == marker
        assert sent.delivered and sent.response.startswith("MAX: сообщение mid.")
        message = mx.wait_sent()
        assert (message.chat_id, message.text, message.button) == ("501", "Готово", LINK)
        assert message.raw["format"] == "markdown"
        last = mx.requests[-1]
        assert last.query == {"chat_id": "501"} and last.headers["authorization"] == mx.token
        assert all(mx.token not in r.url for r in mx.requests)
        assert all(r.headers.get("authorization") == mx.token for r in mx.requests)


def test_max_refuses_a_token_in_the_query_and_faults_become_outcomes():
    import httpx

    with max_stub() as mx:
        query = httpx.get(f"{mx.api_url}/me", params={"access_token": mx.token},
                          headers={"Authorization": mx.token})
        assert query.status_code == 401 and query.json()["code"] == "verify.token"
        mx.fail("messages", 429, retry_after=2)
        mx.fail("messages", 503)
        mx.block(77)

        async def go(b):
            return await b.send("5", "a"), await b.send("5", "b"), await b.send("77", "c"), await b.send("5", "d")
        limited, broken, blocked, fine = run(_with(MaxBot(mx.token, mx.api_url), go))
        assert limited.retry_after == 2.0 and not limited.permanent
        assert not broken.permanent and broken.reached
        assert blocked.blocked and blocked.permanent and "chat.denied" in blocked.response
        assert fine.delivered
        with pytest.raises(BotError) as wrong:
            run(_with(MaxBot("wrong", mx.api_url), lambda b: b.get_me()))
        assert wrong.value.status == 401 and "wrong" not in str(wrong.value)


def _certificates(folder) -> tuple[str, str, str]:  # noqa: ANN001
    """A root CA of its own (as Минцифры's is to certifi: unknown) and a server certificate for
    127.0.0.1 it signed: (root, certificate, key)."""
    import subprocess

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "2",
        "-subj", "/CN=Test Trusted Root CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return str(folder / "root.pem"), str(folder / "server.pem"), str(folder / "server.key")


def test_max_over_https_trusts_a_root_given_in_its_file_and_not_otherwise(tmp_path):
    """MAX's certificate comes from a root CA that certifi does not hold: given as NOK_CHAT_CA_FILE
    (or in the system's store) the API answers; without it the connection is refused, token-free."""
    import asyncio

    from notifiers.bots import BotError, MaxBot
    from tests.support.bot_stubs import max_stub

    root, certificate, key = _certificates(tmp_path)
    with max_stub(tls=(certificate, key)) as stub:
        async def me(ca_file: str | None) -> str:
            async with MaxBot(stub.token, stub.api_url, ca_file=ca_file) as bot:
                return await bot.get_me()

        assert stub.api_url.startswith("https://")
        assert asyncio.run(me(root)) == stub.username
        with pytest.raises(BotError) as refused:
            asyncio.run(me(None))
        assert stub.token not in str(refused.value)
