"""Linking a messenger chat through a real `nok serve` (bots pointed at the local stubs by
NOK_TELEGRAM_* / NOK_MAX_*) and the personal page in Chromium: press the button, take the
token from the deep link, «/start <token>» in the stub, the confirmation comes and the page
says «подключён»; a used and a forged token are refused; /stop; the same for MAX; the bots'
tokens nowhere on the page or in the serve's output. Screenshots at 375 and 1280 px."""

from __future__ import annotations

import os
import secrets
import signal
import time

import pytest

from nok_workflow import tokens
from tests.support.bot_stubs import max_stub, telegram_stub
from tests.support.cli import run_nok
from tests.support.paths import ROOT
from tests.support.plans import MINIMAL_PLAN
from tests.support.serve import free_port, kill_group, serve_in

pytestmark = pytest.mark.slow  # Chromium against a real `nok serve`

SCREENSHOTS = ROOT / "docs" / "screenshots"
NOW = "2024-01-10T09:00+05:00"
CONFIRM = ("Готово: напоминания по плану «Тестовый план» для «Отдел образования» будут приходить сюда. "
           "Отключить — /stop или на вашей странице.")
REFUSED = "Ссылка устарела или уже использована — откройте свою страницу и нажмите кнопку ещё раз."
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "ru-RU"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "ru-RU"}


def _until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _reload_until(page, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        if text in page.locator("#chats").inner_text():
            return
        assert time.monotonic() < deadline, f"the page never said «{text}»"
        time.sleep(0.3)


def _link(page, channel: str, label: str) -> str:
    page.get_by_role("button", name=f"Получать напоминания в {label}").click()
    return page.locator(f"#chat-url-{channel}").input_value()


def test_linking_telegram_and_max_through_nok_serve_and_the_personal_page(tmp_path, browser):
    secret = secrets.token_hex(32)
    plan = tmp_path / "plan.yaml"
    plan.write_text(MINIMAL_PLAN, encoding="utf-8")
    with telegram_stub() as tg, max_stub() as mx:
        env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "NOK_NOW": NOW, "NOK_SECRET": secret,
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
               "NOK_TELEGRAM_TOKEN": tg.token, "NOK_TELEGRAM_API_URL": tg.api_url,
               "NOK_MAX_TOKEN": mx.token, "NOK_MAX_API_URL": mx.api_url}
        for name in ("NOK_DATABASE_URL", "PREFECT_API_URL", "NOK_SMTP_HOST"):
            env.pop(name, None)
        loaded = run_nok("plan", "load", str(plan), env=env)
        assert loaded.returncode == 0, loaded.stderr
        port = free_port()
        proc = serve_in(env, port, tmp_path)
        try:
            _until(lambda: tg.requests_to("getMe") and mx.requests_to("me"))
            url = tokens.upload_link(f"http://127.0.0.1:{port}", secret.encode(), "test-plan", "otdel")
            phone = browser.new_context(**PHONE).new_page()
            phone.goto(url)
            section = phone.locator("#chats").inner_text()
            assert "Напоминания в мессенджерах" in section and "подключён" not in section

            link = _link(phone, "telegram", "Telegram")
            assert link.startswith("https://t.me/nok_test_bot?start=")
            assert phone.get_by_role("link", name="Открыть бота в Telegram").get_attribute("href") == link
            phone.locator("#chats").screenshot(path=str(SCREENSHOTS / "chat-link-section-375.png"))
            token = link.split("start=", 1)[1]
            tg.start(42, token)
            assert tg.wait_sent(lambda m: m.chat_id == "42").text == CONFIRM
            _reload_until(phone, "Telegram подключён")
            tg.start(43, token)  # the used token from another chat
            tg.start(44, "forged-token-0000000000")
            assert tg.wait_sent(lambda m: m.chat_id == "43").text == REFUSED
            assert tg.wait_sent(lambda m: m.chat_id == "44").text == REFUSED

            max_link = _link(phone, "max", "MAX")
            assert max_link.startswith("https://max.ru/nok_test_max_bot?start=")
            mx.start(501, max_link.split("start=", 1)[1])
            assert mx.wait_sent(lambda m: m.chat_id == "501").text == CONFIRM
            _reload_until(phone, "MAX подключён")
            phone.get_by_label("Только в мессенджере, без почты").check()
            phone.get_by_role("button", name="Сохранить").click()
            assert phone.get_by_label("Только в мессенджере, без почты").is_checked()

            desktop = browser.new_context(**DESKTOP).new_page()
            desktop.goto(url + "#chats")
            desktop.locator("#chats").screenshot(path=str(SCREENSHOTS / "chat-linked-1280.png"))
            phone.locator("#chats").screenshot(path=str(SCREENSHOTS / "chat-linked-375.png"))

            tg.write(42, "/stop")
            assert tg.wait_sent(lambda m: m.chat_id == "42" and m.text.startswith("Напоминания сюда")).text
            _reload_until(phone, "Получать напоминания в Telegram")
            phone.get_by_role("button", name="Отключить MAX").click()
            assert "Получать напоминания в MAX" in phone.locator("#chats").inner_text()
            for page in (phone, desktop):
                assert tg.token not in page.content() and mx.token not in page.content()
            assert all(mx.token not in r.url for r in mx.requests)
        finally:
            if proc.returncode is None:
                os.kill(proc.pid, signal.SIGTERM)  # a graceful stop: the pollers end with the serve
                try:
                    proc.wait(timeout=60)
                except Exception:  # noqa: BLE001 - stuck: killed, and its output shown below
                    kill_group(proc)
            out, err = proc.output()
    assert proc.returncode == 0, err[-3000:]
    assert "Бот Telegram: опрос запущен" in out and "Бот MAX: опрос запущен" in out and "nok serve остановлен" in out
    assert tg.token not in out + err and mx.token not in out + err
