"""Delivering the outbox: daily digests per person, claimed, sent, recorded one by one.

1. `assemble`: queued outbox rows join their person's mail of the day (one mail per address
   and day — a unique key); rows queued after today's mail went out wait for tomorrow's.
2. `claim`: a dispatcher takes a small batch of ready mails for itself (FOR UPDATE SKIP
   LOCKED on PostgreSQL, the write lock on SQLite), so two dispatchers never send the same
   mail. A mail still "sending" after the lease (its dispatcher died) is taken again; a live
   dispatcher renews the lease of what it holds while it sends.
3. deliver: each server answer is written down before that connection sends again (answers
   that arrive together share one transaction). A crash therefore re-sends at most one
   message per connection — never loses one — and the copy has the same Message-ID.
4. A circuit breaker per channel: after a few answers in a row that never came (refused
   connections, timeouts) that channel stops for this run, its mails not tried go back to the
   queue without spending an attempt, and «SMTP-сервер не отвечает» (or «API Telegram не
   отвечает») is recorded for `nok status` and `nok outbox list`; the other channels go on.

Messenger mails (Telegram, MAX: chat_queue.py) go the same way, each channel through its own
notifier; a channel without a token is not claimed (its mails wait). A message of several
parts records each part before the next goes (chat_queue.save_progress).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine

from nok_workflow.services.delivery import chat_queue
from nok_workflow.services.delivery.composer import Composed, Composer
from nok_workflow.services.delivery.mail_queue import (
    BATCH,
    assemble,
    claim,
    ready_count,
    record,
    release,
    renew,
    still_held,
    waiting_count,
)
from nok_workflow.services.read import health
from nok_workflow.settings import Settings
from nok_workflow.store.db import write_connection
from nok_workflow.text import plural
from nok_workflow.tokens import secret
from notifiers import Message, Notifier, Outcome, chats_from_settings
from notifiers.routing import kept_local

RENEW_SECONDS = 20.0  # how often a live dispatcher renews its lease while sending
PARALLEL_FROM = 3 * BATCH  # mails ready: from this many, a child process renders the next batch
FIRST_BATCH = 16
BREAKER = 3  # answers in a row that never came: the server is down, stop this run
HEALTH = {"email": "smtp", "telegram": "telegram", "max": "max"}  # ServiceHealth rows by channel


@dataclass
class DispatchReport:
    assembled: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    problem: str | None = None  # why the run stopped early («SMTP-сервер не отвечает …»)
    held: int = 0  # queued rows waiting for their plan's reminder hour
    held_until: dt.datetime | None = None  # when the first of them may go

    @property
    def held_text(self) -> str | None:
        """«ждут часа плана: 10 сообщений, отправка с 24.11.2026 09:00 UTC» — for the CLI."""
        if not self.held:
            return None
        return (f"ждут часа напоминаний плана: {plural(self.held, 'сообщение', 'сообщения', 'сообщений')}, "
                f"отправка с {self.held_until:%d.%m.%Y %H:%M} UTC")


class RunClock:
    """The run's time: the given `now` (perhaps simulated) advanced by the real time elapsed,
    so leases and retry times stay right in a long run and under --now alike."""

    def __init__(self, start: dt.datetime) -> None:
        self.start, self._t0 = start, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._t0)


@dataclass
class Breaker:
    """Counts answers in a row that never came; trips at `threshold`."""

    threshold: int = BREAKER
    silent: int = 0
    last: str = ""

    def observe(self, outcome: Outcome) -> None:
        if outcome.reached:
            self.silent = 0
        else:
            self.silent, self.last = self.silent + 1, outcome.response

    @property
    def tripped(self) -> bool:
        return self.silent >= self.threshold


class _Batch:
    """One claimed batch going out: answers written as they arrive, the lease kept alive.

    The writes run one at a time on a writer thread: a commit waits for the disk (fsync),
    and meanwhile the event loop goes on sending on the other connections. Answers that
    arrive while a write is under way share the next transaction (a group commit); each
    connection waits for the commit holding its answer before it sends again.
    """

    def __init__(self, engine: Engine, token: str, ids: list[int], clock: RunClock, breakers: dict[str, Breaker],
                 report: DispatchReport) -> None:
        self.engine, self.token, self.clock, self.breakers, self.report = engine, token, clock, breakers, report
        self.open = set(ids)  # claimed and not yet recorded
        self._pending: list[tuple[int, Outcome, str | None]] = []
        self._next: asyncio.Future[None] | None = None  # the write that will carry `_pending`
        self._writing = False
        self._writer: ThreadPoolExecutor | None = None
        self.ahead: tuple[str, list[int]] | None = None  # the next batch, claimed while this one is sent

    def write(self, results: list[tuple[int, Outcome, str | None]]) -> None:
        self._count(results, record(self.engine, self.token, results, self.clock()))

    def _count(self, results: list[tuple[int, Outcome, str | None]], counts: dict[str, int]) -> None:
        for status in ("sent", "retry", "failed"):
            setattr(self.report, status, getattr(self.report, status) + counts[status])
        self.open.difference_update(mail_id for mail_id, _, _ in results)

    async def _record(self, result: tuple[int, Outcome, str | None]) -> None:
        self._pending.append(result)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        written = self._next
        if not self._writing:
            self._start()
        await asyncio.shield(written)

    def _start(self) -> None:
        batch, self._pending = self._pending, []
        written, self._next = self._next, None
        self._writing = True
        job = asyncio.get_running_loop().run_in_executor(
            self._writer, lambda: record(self.engine, self.token, batch, self.clock()))
        job.add_done_callback(lambda done: self._written(done, batch, written))

    def _written(self, job: asyncio.Future[dict[str, int]], batch: list[tuple[int, Outcome, str | None]],
                 written: asyncio.Future[None]) -> None:
        self._writing = False
        if job.cancelled() or job.exception() is not None:
            # handed to every connection waiting on this write
            written.set_exception(job.exception() if not job.cancelled() else asyncio.CancelledError())
        else:
            self._count(batch, job.result())
            written.set_result(None)
        if self._pending:  # answers that came during this write
            self._start()

    async def _keep_lease(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            ids = sorted(self.open)
            await loop.run_in_executor(self._writer, renew, self.engine, self.token, ids, self.clock())
            if self.ahead is not None:
                await loop.run_in_executor(self._writer, renew, self.engine, *self.ahead, self.clock())

    def _progress(self, mail_id: int, done: int, response: str) -> None:
        with write_connection(self.engine) as conn:
            chat_queue.save_progress(conn, mail_id, self.token, done, response)

    async def send(self, notifiers: dict[str, Notifier], messages: list[tuple[int, Message]]) -> None:
        """Each channel's messages through its notifier, the channels at once."""
        def on_outcome(channel: str, mine: list[tuple[int, Message]]):  # noqa: ANN202
            breaker = self.breakers[channel]

            async def record_one(index: int, outcome: Outcome) -> bool:
                mail_id, message = mine[index]
                breaker.observe(outcome)  # before the write: connections answering meanwhile see it
                if outcome.parts_done is not None:  # a part of a messenger's message went out
                    await asyncio.get_running_loop().run_in_executor(
                        self._writer, self._progress, mail_id, outcome.parts_done, outcome.response)
                    return not breaker.tripped
                if not outcome.delivered:
                    self.report.errors.append(f"{message.to_address}: {outcome.response}")
                await self._record((mail_id, outcome, message.subject))
                return not breaker.tripped
            return record_one

        by_channel: dict[str, list[tuple[int, Message]]] = {}
        for mail_id, message in messages:
            by_channel.setdefault(chat_queue.channel_of(message.to_address), []).append((mail_id, message))
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="nok-record")
        lease = asyncio.create_task(self._keep_lease())
        try:
            await asyncio.gather(*[notifiers[channel].deliver([m for _, m in mine], on_outcome(channel, mine))
                                   for channel, mine in by_channel.items() if channel in notifiers])
        finally:
            lease.cancel()
            self._writer.shutdown(wait=True)  # a write still under way ends before the batch does


def dispatch(engine: Engine, notifier: Notifier, settings: Settings, now: dt.datetime,
             chats: dict[str, Notifier] | None = None) -> DispatchReport:
    """`notifier` sends e-mail; `chats` the messengers by channel (by default those whose
    token is set): a channel without one is not claimed, its mails wait."""
    report = DispatchReport()
    report.assembled = assemble(engine, now, settings.mail_from, report)
    key = secret(settings.home)
    notifiers = {"email": notifier, **(chats_from_settings(settings) if chats is None else chats)}
    clock = RunClock(now)
    breakers = {channel: Breaker() for channel in notifiers}
    tried: set[str] = set()

    def channels() -> tuple[str, ...]:
        return tuple(c for c in notifiers if not breakers[c].tripped)
    parallel = ready_count(engine, now) >= PARALLEL_FROM
    composer = Composer(engine, settings, key, now, parallel)

    def claimed(limit: int = BATCH) -> tuple[str, list[int], Future[Composed]] | None:
        open_channels = channels()
        if not open_channels:
            return None
        token, ids = claim(engine, clock(), limit, settings.mail_from, open_channels)
        return (token, ids, composer.submit(ids)) if ids else None

    upcoming = None
    try:
        # In parallel, a small first batch: sending starts sooner, and the child writes the next one meanwhile.
        upcoming = claimed(FIRST_BATCH if composer.parallel else BATCH)
        while upcoming is not None:  # small batches of claimed mails until none is ready
            (token, ids, job), upcoming = upcoming, None
            messages, broken, errors = job.result()
            report.errors += errors
            batch = _Batch(engine, token, ids, clock, breakers, report)
            if broken:
                batch.write(broken)
            if composer.parallel:
                if messages:  # claimed while the last batch was sent: still ours?
                    kept = still_held(engine, token, [mail_id for mail_id, _ in messages], clock())
                    messages = [(mail_id, m) for mail_id, m in messages if mail_id in kept]
                upcoming = claimed()  # the next batch is written while this one is sent
                batch.ahead = (upcoming[0], upcoming[1]) if upcoming else None
            # a channel gone silent meanwhile: its mails go back to the queue untried
            messages = [(i, m) for i, m in messages if not breakers[chat_queue.channel_of(m.to_address)].tripped]
            if messages:
                # The server's health is what it answered: mail kept in files (the demo's) says nothing.
                tried.update(chat_queue.channel_of(m.to_address) for _, m in messages if not kept_local(m.to_address))
                asyncio.run(batch.send(notifiers, messages))
            release(engine, token, sorted(batch.open))
            if not channels():
                break
            if not composer.parallel:
                upcoming = claimed()
    finally:
        if upcoming is not None:  # claimed ahead but not sent (the server went silent, an error)
            release(engine, upcoming[0], upcoming[1])
        composer.close()
    problems = {channel: _silent(engine, settings, channel, breaker)
                for channel, breaker in breakers.items() if breaker.tripped}
    report.problem = "; ".join(problems.values()) or None
    for channel in tried:
        health.save(engine, HEALTH[channel], problems.get(channel), clock())
    return report


def _silent(engine: Engine, settings: Settings, channel: str, breaker: Breaker) -> str:
    waiting = waiting_count(engine, channel)
    tries = f"{plural(breaker.silent, 'попытка', 'попытки', 'попыток')} подряд без ответа ({breaker.last})"
    if channel == "email":
        return (f"SMTP-сервер не отвечает ({settings.smtp_host}:{settings.smtp_port}): {tries}; рассылка "
                f"остановлена, в очереди ждут {plural(waiting, 'письмо', 'письма', 'писем')} — попыток они не потратили")
    return (f"API {chat_queue.NAMES[channel]} не отвечает: {tries}; отправка в {chat_queue.NAMES[channel]} "
            f"остановлена, в очереди ждут {plural(waiting, 'сообщение', 'сообщения', 'сообщений')} — "
            "попыток они не потратили")
