"""Long polling of the messenger bots inside `nok serve`: for each configured bot a thread with
its own event loop. Of several processes on one store only the holder of the bot's lease polls
(services/commands/bot_state.py); the others look again now and then and take over when the
lease lapses. Telegram: deleteWebhook once, getMe → the username the page's deep link needs,
then getUpdates; MAX: the same with /subscriptions, /me, /updates. Each message is handled
(services/commands/chat_links.handle) and answered; the offset is stored after the whole batch,
so a crash handles at most that batch again — which changes nothing (handling is idempotent).
Errors never stop `nok serve`: a line in its log (without the token) and a growing pause."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from nok_workflow import clock
from nok_workflow.services.commands import bot_state, chat_links
from nok_workflow.settings import Settings
from notifiers.bots import BotError, MaxBot, TelegramBot

log = logging.getLogger("nok")

POLL_TIMEOUT = 25.0  # seconds a long poll waits for an update
IDLE = 15.0  # seconds between looks at a lease another process holds
BACKOFF = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)  # pauses after consecutive errors


@dataclass(frozen=True)
class BotConfig:
    channel: str
    token: str
    api_url: str
    ca_file: str | None = None


def configured(settings: Settings) -> list[BotConfig]:
    """The bots whose token is set (the token read here only, handed to the client only)."""
    bots = []
    for channel, token, url in (("telegram", settings.telegram_token, settings.telegram_api_url),
                                ("max", settings.max_token, settings.max_api_url)):
        if token is not None and token.get_secret_value().strip():
            bots.append(BotConfig(channel, token.get_secret_value().strip(), url,
                                  str(settings.chat_ca_file) if settings.chat_ca_file else None))
    return bots


def _reason(exc: BaseException) -> str:
    """An error for the log: a BotError says itself (it never holds the token); anything else
    by its type and message, never a traceback (its frames hold the client and its URL)."""
    return str(exc) if isinstance(exc, BotError) else f"{type(exc).__name__}: {str(exc)[:300]}"


class BotPoller:
    """One bot's polling loop, in a thread; `stop()` ends it at once (a long poll is cancelled)."""

    def __init__(self, engine: Engine, config: BotConfig, *, now: str | None = None,
                 poll_timeout: float = POLL_TIMEOUT, idle: float = IDLE,
                 lease: dt.timedelta = bot_state.LEASE) -> None:
        self.engine, self.config, self.now = engine, config, now
        self.channel = config.channel
        self.label = chat_links.CHANNELS[config.channel]
        self.poll_timeout, self.idle, self.lease = poll_timeout, idle, lease
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.polling = False  # holds the lease and polls
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._in_poll = False
        self._thread = threading.Thread(target=self._run, name=f"nok-bot-{self.channel}", daemon=True)

    def start(self) -> BotPoller:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the loop: a long poll under way is cancelled; a batch being handled is finished
        and its offset stored first."""
        self._stop.set()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(self._cancel_poll)
        self._thread.join(timeout)

    def _cancel_poll(self) -> None:
        # In the loop's thread, like _batch: either the poll is under way (cancelled here) or
        # _batch sees the stop before it starts one.
        if self._in_poll and self._task is not None:
            self._task.cancel()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._poll())
            if self._stop.is_set():
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            with contextlib.suppress(Exception):
                bot_state.release(self.engine, self.channel, self.name, now=dt.datetime.now(dt.UTC))
            loop.close()

    def _bot(self) -> TelegramBot | MaxBot:
        kind = TelegramBot if self.channel == "telegram" else MaxBot
        return kind(self.config.token, self.config.api_url, timeout=15.0, ca_file=self.config.ca_file)

    async def _poll(self) -> None:
        errors = 0
        prepared = False
        async with self._bot() as bot:
            while not self._stop.is_set():
                try:
                    if not bot_state.take_lease(self.engine, self.channel, self.name,
                                                now=dt.datetime.now(dt.UTC), lease=self.lease):
                        self.polling, prepared = False, False
                        await self._pause(self.idle)
                        continue
                    if not self.polling:
                        log.info("%s: этот процесс опрашивает бота", self.label)
                    self.polling = True
                    if not prepared:
                        await bot.delete_webhook()
                        username = await bot.get_me()
                        bot_state.save(self.engine, self.channel, self.name, now=dt.datetime.now(dt.UTC),
                                       username=username, lease=self.lease)
                        prepared = True
                    await self._batch(bot)
                    errors = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - nothing stops `nok serve`: said, paused, retried
                    pause = BACKOFF[min(errors, len(BACKOFF) - 1)]
                    errors += 1
                    log.warning("%s: опрос бота не удался (%s); повтор через %.0f с",
                                self.label, _reason(exc), pause)
                    await self._pause(pause)

    async def _batch(self, bot: TelegramBot | MaxBot) -> None:
        offset = bot_state.offset(self.engine, self.channel)
        if self._stop.is_set():
            return
        self._in_poll = True
        try:
            updates, next_offset = await bot.get_updates(offset, self.poll_timeout)
        finally:
            self._in_poll = False
        for update in updates:
            handled = chat_links.handle(self.engine, self.channel, update.chat_id, update.text, update.start,
                                        now=clock.now(self.now))
            outcome = await bot.send(update.chat_id, handled.reply)
            if outcome.blocked:
                chat_links.blocked(self.engine, channel=self.channel, chat_id=update.chat_id,
                                   now=clock.now(self.now))
            elif not outcome.delivered:
                log.warning("%s: ответ в чат %s не отправлен (%s)", self.label,
                            update.chat_id, outcome.response)
        if next_offset != offset or updates:
            if not bot_state.save(self.engine, self.channel, self.name, now=dt.datetime.now(dt.UTC),
                                  offset=next_offset, lease=self.lease):
                log.warning("%s: опрос перешёл к другому процессу", self.label)
        else:
            bot_state.save(self.engine, self.channel, self.name, now=dt.datetime.now(dt.UTC), lease=self.lease)

    async def _pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stop.is_set() and loop.time() < deadline:
            await asyncio.sleep(min(0.2, deadline - loop.time()))


class BotPolling:
    """All configured bots' pollers of one `nok serve`."""

    def __init__(self, pollers: list[BotPoller]) -> None:
        self.pollers = pollers

    @classmethod
    def start(cls, settings: Settings, engine: Engine, now: str | None = None) -> BotPolling:
        return cls([BotPoller(engine, config, now=now).start() for config in configured(settings)])

    def stop(self) -> None:
        for poller in self.pollers:
            poller._stop.set()
        for poller in self.pollers:
            poller.stop()
