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
4. A circuit breaker: after a few answers in a row that never came (refused connections,
   timeouts) the run stops, the mails not tried go back to the queue without spending an
   attempt, and «SMTP-сервер не отвечает» is recorded for `nok status` and `nok outbox list`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import secrets as random
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from sqlalchemy import Engine, bindparam, case, func, insert, or_, select, text, update
from sqlmodel import Session

from nok_workflow.services.read import health
from nok_workflow.services.delivery.letters import build, entries, new_message_id
from nok_workflow.settings import Settings
from nok_workflow.store.db import make_engine, write_connection, write_session
from nok_workflow.store.models import Mail, Outbox, Party, Plan
from nok_workflow.text import plural
from nok_workflow.tokens import secret
from notifiers import Message, Notifier, Outcome
from notifiers.routing import kept_local

MAX_ATTEMPTS = 8  # answers from the server (4xx) before a mail is given up; silence does not count
_ASSEMBLY_LOCK = 0x6E6F6B6D  # "nokm"
LEASE = dt.timedelta(minutes=2)  # a claim nobody renewed for this long belongs to a dead dispatcher
RENEW_SECONDS = 20.0  # how often a live dispatcher renews its lease while sending
BATCH = 100  # mails claimed at a time
PARALLEL_FROM = 3 * BATCH  # mails ready: from this many, a child process renders the next batch
FIRST_BATCH = 16
BREAKER = 3  # answers in a row that never came: the server is down, stop this run
UNREACHABLE_RETRY = dt.timedelta(minutes=1)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes, at most 6 hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


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


def assemble(engine: Engine, now: dt.datetime, mail_from: str = "", report: DispatchReport | None = None) -> int:
    """Attach queued rows to mails; rows for people without an address fail with the reason.
    Rows that wait for their plan's hour are counted in `report` (held, held_until)."""
    # Plain columns and statements run many times over (not ORM objects, one flush per row):
    # a region's day is thousands of rows.
    with write_connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Two dispatchers assembling at once would both create a person's mail of the day;
            # on SQLite the write lock already makes them take turns.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ASSEMBLY_LOCK})
        waiting = (Outbox.status == "queued") & Outbox.mail_id.is_(None)
        rows = conn.execute(select(Outbox.id, Outbox.day, Party.email, Party.name, Plan.timezone, Plan.reminder_hour)
                            .join(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
                            .join(Plan, Plan.id == Outbox.plan_id)
                            .where(waiting).order_by(Outbox.id)).all()
        # the recipient is no longer in the plan's directory
        failures = [{"b_id": row_id, "why": f"получателя «{recipient}» нет в справочнике плана"}
                    for row_id, recipient in conn.execute(
                        select(Outbox.id, Outbox.recipient)
                        .outerjoin(Party, (Party.plan_id == Outbox.plan_id) & (Party.id == Outbox.recipient))
                        .where(waiting, Party.id.is_(None)))]
        wanted: dict[tuple[str, dt.date], str] = {}
        placed: list[tuple[int, tuple[str, dt.date]]] = []
        local_now: dict[str, dt.datetime] = {}
        for row_id, day, email, name, timezone, hour in rows:
            if not email:
                failures.append({"b_id": row_id, "why": f"у «{name}» нет адреса электронной почты"})
                continue
            local = local_now.get(timezone)
            if local is None:
                local = local_now[timezone] = now.astimezone(ZoneInfo(timezone))
            if day >= local.date() and local.hour < hour:
                # Before the plan's hour: wait for the day's run, so it is one digest.
                if report is not None:
                    at = local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
                    report.held += 1
                    report.held_until = min(report.held_until or at, at)
                continue
            key = (email.strip().lower(), max(day, local.date()))
            wanted.setdefault(key, name)
            placed.append((row_id, key))
        if failures:
            conn.execute(update(Outbox).where(Outbox.id == bindparam("b_id"))
                         .values(status="failed", last_error=bindparam("why")), failures)
        if not wanted:
            return 0

        def existing() -> dict[tuple[str, dt.date], tuple[int, str]]:
            return {(address, day): (mail_id, status) for mail_id, address, day, status in conn.execute(
                select(Mail.id, Mail.address, Mail.day, Mail.status).where(
                    Mail.address.in_({a for a, _ in wanted}), Mail.day.in_({d for _, d in wanted})))}

        # All of this round's mails in three statements, not two per person.
        mails = existing()
        fresh = [{"address": a, "name": n, "day": d, "status": "pending", "attempts": 0, "next_attempt_at": now,
                  "created_at": now, "message_id": new_message_id(mail_from)}
                 for (a, d), n in wanted.items() if (a, d) not in mails]
        if fresh:
            conn.execute(insert(Mail), fresh)
            mails = existing()
        # today's mail to this person may be gone already: tomorrow's will carry the row
        attach = [{"b_id": row_id, "mail": mails[key][0]} for row_id, key in placed
                  if mails[key][1] in ("pending", "retry")]
        if attach:
            conn.execute(update(Outbox).where(Outbox.id == bindparam("b_id")).values(mail_id=bindparam("mail")),
                         attach)
        return len(attach)


def claim(engine: Engine, now: dt.datetime, limit: int = BATCH, mail_from: str = "") -> tuple[str, list[int]]:
    token = random.token_hex(8)
    ready = or_(Mail.status.in_(("pending", "retry")) & (Mail.next_attempt_at <= now),
                (Mail.status == "sending") & (Mail.claimed_at < now - LEASE))
    with write_session(engine) as session:
        query = select(Mail.id, Mail.message_id).where(ready).order_by(Mail.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        ids = [mail_id for mail_id, _ in rows]
        if ids:
            session.execute(update(Mail).where(Mail.id.in_(ids))
                            .values(status="sending", claim=token, claimed_at=now, attempts=Mail.attempts + 1))
            for mail_id, message_id in rows:
                if message_id is None:  # a mail assembled before Message-IDs were stored
                    session.execute(update(Mail).where(Mail.id == mail_id)
                                    .values(message_id=new_message_id(mail_from)))
    return token, ids


# `record` runs once per server answer or two: its statements are built once.
_HELD = (select(Mail.id, Mail.attempts, Mail.subject, Mail.smtp_response, Mail.next_attempt_at)
         .where(Mail.id.in_(bindparam("ids", expanding=True)), Mail.claim == bindparam("token"),
                Mail.status == "sending"))
_CHANGE = update(Mail).where(Mail.id == bindparam("b_id"))
_ROWS_SENT = (update(Outbox).where(Outbox.mail_id.in_(bindparam("ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("now"), last_error=None))


def record(engine: Engine, token: str, results: list[tuple[int, Outcome, str | None]],
           now: dt.datetime) -> dict[str, int]:
    """Write outcomes in one transaction; returns counts by new status."""
    counts: dict[str, int] = defaultdict(int)
    with write_connection(engine) as conn:
        held = {row.id: row for row in conn.execute(
            _HELD, {"ids": [mail_id for mail_id, _, _ in results], "token": token})}
        changes, sent, failed = [], [], []
        for mail_id, outcome, subject in results:
            mail = held.get(mail_id)
            if mail is None:
                counts["stale"] += 1  # another dispatcher took it over after our lease ran out
                continue
            change = {"b_id": mail_id, "status": "retry", "subject": subject or mail.subject,
                      "smtp_response": mail.smtp_response, "sent_at": None, "error": outcome.response,
                      "attempts": mail.attempts, "next_attempt_at": mail.next_attempt_at}
            if outcome.delivered:
                change |= {"status": "sent", "smtp_response": outcome.response, "sent_at": now, "error": None}
                sent.append(mail_id)
            elif not outcome.reached:
                # Silence is the server's fault, not the mail's: no attempt spent, tried again soon.
                change |= {"attempts": mail.attempts - 1, "next_attempt_at": now + UNREACHABLE_RETRY}
            elif outcome.permanent or mail.attempts >= MAX_ATTEMPTS:
                change["status"] = "failed"
                failed.append((mail_id, outcome.response))
            else:
                change["next_attempt_at"] = now + backoff(mail.attempts)
            changes.append(change)
            counts[change["status"]] += 1
        if changes:
            conn.execute(_CHANGE, changes)
        if sent:
            conn.execute(_ROWS_SENT, {"ids": sent, "now": now})
        for mail_id, why in failed:
            conn.execute(update(Outbox).where(Outbox.mail_id == mail_id)
                         .values(status="failed", sent_at=None, last_error=why))
    return counts


def renew(engine: Engine, token: str, ids: list[int], now: dt.datetime) -> None:
    """Extend the lease of the mails this dispatcher still holds."""
    if ids:
        with write_session(engine) as session:
            session.execute(update(Mail).where(Mail.id.in_(ids), Mail.claim == token, Mail.status == "sending")
                            .values(claimed_at=now))


def release(engine: Engine, token: str, ids: list[int]) -> int:
    """Give back claimed mails that were never tried: queued as before, the attempt refunded."""
    if not ids:
        return 0
    with write_session(engine) as session:
        return session.execute(
            update(Mail).where(Mail.id.in_(ids), Mail.claim == token, Mail.status == "sending")
            .values(status=case((Mail.attempts > 1, "retry"), else_="pending"), attempts=Mail.attempts - 1,
                    claim=None, claimed_at=None)).rowcount


class _Batch:
    """One claimed batch going out: answers written as they arrive, the lease kept alive.

    The writes run one at a time on a writer thread: a commit waits for the disk (fsync),
    and meanwhile the event loop goes on sending on the other connections. Answers that
    arrive while a write is under way share the next transaction (a group commit); each
    connection waits for the commit holding its answer before it sends again.
    """

    def __init__(self, engine: Engine, token: str, ids: list[int], clock: RunClock, breaker: Breaker,
                 report: DispatchReport) -> None:
        self.engine, self.token, self.clock, self.breaker, self.report = engine, token, clock, breaker, report
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

    async def send(self, notifier: Notifier, messages: list[tuple[int, Message]]) -> None:
        async def on_outcome(index: int, outcome: Outcome) -> bool:
            mail_id, message = messages[index]
            self.breaker.observe(outcome)  # before the write: connections answering meanwhile see it
            if not outcome.delivered:
                self.report.errors.append(f"{message.to_address}: {outcome.response}")
            await self._record((mail_id, outcome, message.subject))
            return not self.breaker.tripped

        self._writer = ThreadPoolExecutor(1, thread_name_prefix="nok-record")
        lease = asyncio.create_task(self._keep_lease())
        try:
            await notifier.deliver([m for _, m in messages], on_outcome)
        finally:
            lease.cancel()
            self._writer.shutdown(wait=True)  # a write still under way ends before the batch does


def _compose(engine: Engine, ids: list[int], settings: Settings, key: bytes, now: dt.datetime,
             report: DispatchReport) -> tuple[list[tuple[int, Message]], list[tuple[int, Outcome, str | None]]]:
    """The claimed mails as messages; a mail whose template breaks fails alone."""
    messages: list[tuple[int, Message]] = []
    broken: list[tuple[int, Outcome, str | None]] = []
    with Session(engine) as session:
        mails = session.execute(select(Mail).where(Mail.id.in_(ids)).order_by(Mail.id)).scalars().all()
        listed = entries(session, ids, settings, key)
        for mail in mails:
            try:
                messages.append((mail.id, build(mail, listed[mail.id])))
            except (TemplateError, KeyError, ValueError) as exc:
                why = f"ошибка шаблона письма: {exc}"
                broken.append((mail.id, Outcome.fail(why), None))
                report.errors.append(f"{mail.address}: {why}")
    return messages, broken


Composed = tuple[list[tuple[int, Message]], list[tuple[int, Outcome, str | None]], list[str]]
_child: tuple[Engine, Settings, bytes, dt.datetime] | None = None  # in the composing child process


def _child_start(parent: int, url: str, settings: Settings, key: bytes, now: dt.datetime) -> None:
    global _child
    _die_with(parent)
    _child = make_engine(url), settings, key, now  # its own connections, never the parent's


def _die_with(parent: int) -> None:
    """A dispatcher killed with SIGKILL takes its child along: the child holds no claim, but
    it would keep the dead one's pipes (and a database connection) open for ever."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere, and for a parent gone before prctl: orphans are re-parented
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _child_compose(ids: list[int]) -> Composed:
    engine, settings, key, now = _child
    report = DispatchReport()
    messages, broken = _compose(engine, ids, settings, key, now, report)
    # Encoded here too, off the sending process's core (for the SMTP sender; files use their own).
    return [(mail_id, m.encode_ahead(settings.mail_from)) for mail_id, m in messages], broken, report.errors


class _Composer:
    """Writes the claimed batches. On a day of many batches, in a child process: it renders
    the next batch on the other core while this process sends the current one (rendering
    is pure Python, and a thread would wait for the interpreter lock the sending holds).
    The child only reads; every claim, answer and lease stays with this process."""

    def __init__(self, engine: Engine, settings: Settings, key: bytes, now: dt.datetime, parallel: bool) -> None:
        self.engine, self.settings, self.key, self.now = engine, settings, key, now
        self.pool: ProcessPoolExecutor | None = None
        if parallel:
            # spawn, not fork: the dispatcher runs beside other threads (the scheduler, the web
            # app, Prefect's), and a forked child could inherit a lock one of them held and hang.
            # A fresh interpreter takes ~1-2 s, paid once a day on days of many mails.
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_child_start,
                                            initargs=(os.getpid(), engine.url.render_as_string(hide_password=False),
                                                      settings, key, now))

    @property
    def parallel(self) -> bool:
        return self.pool is not None

    def submit(self, ids: list[int]) -> Future[Composed]:
        if self.pool is not None:
            return self.pool.submit(_child_compose, ids)
        done: Future[Composed] = Future()
        report = DispatchReport()
        messages, broken = _compose(self.engine, ids, self.settings, self.key, self.now, report)
        done.set_result((messages, broken, report.errors))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _ready(engine: Engine, now: dt.datetime) -> int:
    ready = or_(Mail.status.in_(("pending", "retry")) & (Mail.next_attempt_at <= now),
                (Mail.status == "sending") & (Mail.claimed_at < now - LEASE))
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Mail).where(ready)).scalar_one()


def _held(engine: Engine, token: str, ids: list[int], now: dt.datetime) -> set[int]:
    """Of mails claimed ahead, those still ours (lease renewed now): one whose lease ran
    out while it waited may be another dispatcher's by now, and is not sent twice."""
    renew(engine, token, ids, now)
    with Session(engine) as session:
        return set(session.execute(select(Mail.id).where(Mail.id.in_(ids), Mail.claim == token,
                                                         Mail.status == "sending")).scalars())


def dispatch(engine: Engine, notifier: Notifier, settings: Settings, now: dt.datetime) -> DispatchReport:
    report = DispatchReport()
    report.assembled = assemble(engine, now, settings.mail_from, report)
    key = secret(settings.home)
    clock, breaker = RunClock(now), Breaker()
    tried = False
    parallel = _ready(engine, now) >= PARALLEL_FROM
    composer = _Composer(engine, settings, key, now, parallel)

    def claimed(limit: int = BATCH) -> tuple[str, list[int], Future[Composed]] | None:
        token, ids = claim(engine, clock(), limit, settings.mail_from)
        return (token, ids, composer.submit(ids)) if ids else None

    upcoming = None
    try:
        # In parallel, a small first batch: sending starts sooner, and the child writes the next one meanwhile.
        upcoming = claimed(FIRST_BATCH if composer.parallel else BATCH)
        while upcoming is not None:  # small batches of claimed mails until none is ready
            (token, ids, job), upcoming = upcoming, None
            messages, broken, errors = job.result()
            report.errors += errors
            batch = _Batch(engine, token, ids, clock, breaker, report)
            if broken:
                batch.write(broken)
            if composer.parallel:
                if messages:  # claimed while the last batch was sent: still ours?
                    kept = _held(engine, token, [mail_id for mail_id, _ in messages], clock())
                    messages = [(mail_id, m) for mail_id, m in messages if mail_id in kept]
                upcoming = claimed()  # the next batch is written while this one is sent
                batch.ahead = (upcoming[0], upcoming[1]) if upcoming else None
            if messages:
                # The server's health is what it answered: mail kept in files (the demo's) says nothing.
                tried = tried or any(not kept_local(m.to_address) for _, m in messages)
                asyncio.run(batch.send(notifier, messages))
            release(engine, token, sorted(batch.open))
            if breaker.tripped:
                break
            if not composer.parallel:
                upcoming = claimed()
    finally:
        if upcoming is not None:  # claimed ahead but not sent (the server went silent, an error)
            release(engine, upcoming[0], upcoming[1])
        composer.close()
    if breaker.tripped:
        waiting = _waiting(engine)
        report.problem = (f"SMTP-сервер не отвечает ({settings.smtp_host}:{settings.smtp_port}): "
                          f"{plural(breaker.silent, 'попытка', 'попытки', 'попыток')} подряд без ответа "
                          f"({breaker.last}); рассылка остановлена, в очереди ждут "
                          f"{plural(waiting, 'письмо', 'письма', 'писем')} — попыток они не потратили")
    if tried:
        health.save(engine, "smtp", report.problem, clock())
    return report


def _waiting(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Mail)
                               .where(Mail.status.in_(("pending", "retry", "sending")))).scalar_one()
