"""The claimed mails written as messages — on a day of many, in a child process that
renders the next batch while this one sends."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor

from jinja2 import TemplateError
from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.services.delivery.letters import build, entries
from nok_workflow.settings import Settings
from nok_workflow.store.db import make_engine
from nok_workflow.store.models import Mail
from notifiers import Message, Outcome


def compose(engine: Engine, ids: list[int], settings: Settings, key: bytes, now: dt.datetime,
            errors: list[str]) -> tuple[list[tuple[int, Message]], list[tuple[int, Outcome, str | None]]]:
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
                errors.append(f"{mail.address}: {why}")
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
    errors: list[str] = []
    messages, broken = compose(engine, ids, settings, key, now, errors)
    # Encoded here too, off the sending process's core (for the SMTP sender; files use their own).
    return [(mail_id, m if m.parts else m.encode_ahead(settings.mail_from)) for mail_id, m in messages], \
        broken, errors


class Composer:
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
        errors: list[str] = []
        messages, broken = compose(self.engine, ids, self.settings, self.key, self.now, errors)
        done.set_result((messages, broken, errors))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
