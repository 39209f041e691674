"""Messages to a messenger's chats (Telegram, MAX) through a bot client (notifiers/bots.py):
each message's parts in order, the button under the last; a token bucket keeps the channel
under its rate (`chat_rate` messages a second); a 429's retry_after pauses the whole channel.

Progress is reported: after each part but the last, ``record(i, Outcome.progress(k))`` is
awaited before the next part goes, so a crash resends at most the part in flight. The bot's
token never reaches an outcome: any answer is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Protocol

from notifiers.base import Message, Outcome, Record

WORKERS = 4  # messages sent at once to one API (parts of one message go one after another)


class Bot(Protocol):
    async def send(self, chat_id: str, text: str, button: tuple[str, str] | None = None, *,
                   format: str | None = None) -> Outcome: ...

    async def aclose(self) -> None: ...


class TokenBucket:
    """At most `rate` sends a second (no limit for rate <= 0), evenly spaced; `pause` holds
    every send until a 429's wait is over."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate, self.capacity = rate, max(burst, 1.0)
        self.tokens, self.stamp = self.capacity, time.monotonic()
        self.not_before = 0.0
        self.lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                if now < self.not_before:
                    await asyncio.sleep(self.not_before - now)
                    continue
                if self.rate <= 0:
                    return
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)


class ChatNotifier:
    def __init__(self, bot: Bot, rate: float, format: str, secrets: tuple[str, ...] = (),
                 workers: int = WORKERS) -> None:
        self.bot, self.rate, self.format, self.workers = bot, rate, format, max(1, workers)
        self.secrets = tuple(s for s in secrets if s)

    def scrub(self, outcome: Outcome) -> Outcome:
        text = outcome.response
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return outcome if text == outcome.response else replace(outcome, response=text)

    async def deliver(self, messages: list[Message], record: Record) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(messages)):
            queue.put_nowait(index)
        stop = asyncio.Event()
        self.bucket = TokenBucket(self.rate)  # of this event loop (a dispatch runs one per batch)
        try:
            await asyncio.gather(*[self._worker(queue, messages, record, stop)
                                   for _ in range(min(self.workers, len(messages)))])
        finally:
            await self.bot.aclose()  # its connections belong to this event loop

    async def _worker(self, queue: asyncio.Queue[int], messages: list[Message], record: Record,
                      stop: asyncio.Event) -> None:
        while not stop.is_set() and not queue.empty():
            index = queue.get_nowait()
            if not await self._one(index, messages[index], record):
                stop.set()

    async def _one(self, index: int, message: Message, record: Record) -> bool:
        parts = message.parts or ((message.text,) if message.text else ())
        chat_id = message.to_address.partition(":")[2]
        if not parts or not chat_id:
            return await record(index, Outcome.fail("пустое сообщение или нет чата"))
        for k in range(min(message.parts_done, len(parts) - 1), len(parts)):
            last = k == len(parts) - 1
            await self.bucket.acquire()
            outcome = self.scrub(await self.bot.send(chat_id, parts[k], message.button if last else None,
                                                      format=self.format))
            if outcome.retry_after:
                self.bucket.pause(outcome.retry_after)
            if not outcome.delivered or last:
                return await record(index, outcome)
            # Written down before the next part goes: a crash resends at most the part in flight.
            if not await record(index, replace(outcome, delivered=False, parts_done=k + 1)):
                return False
        return True
