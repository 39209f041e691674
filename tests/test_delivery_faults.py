"""Delivery under faults, against a real SMTP server (aiosmtpd) and real processes:
a dispatcher killed with SIGKILL mid-batch, a server that accepts TCP and never answers,
and a second dispatcher while a slow batch is still going out.

`NOK_FAULT_TRIALS` sets how many kills per database (CI: 2). With `NOK_FAULT_REPORT=path`
each trial appends a JSON line (kill point, lost, duplicates) — docs/faults.md is made from it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.delivery import mail_queue
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from nok_workflow.store.models import Mail
from nok_workflow.text import plural
from notifiers.email import EmailNotifier
from tests.support.faults import TRIALS, report
from tests.support.cli import run_nok
from tests.support.mail import Handler
from tests.support.paths import ROOT
from tests.support.region import DAY, REGION, region_store
from tests.support.serve import free_port

pytestmark = pytest.mark.slow  # kill -9 mid-batch, real processes, a region's mail

CONNECTIONS = 4


def mail_statuses(engine) -> Counter:
    with Session(engine) as session:
        return Counter(session.execute(select(Mail.status)).scalars())


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_mid_batch_loses_nothing_and_resends_at_most_one_per_connection(
        trial, engine, db_url, smtp, tmp_path):
    handler, port = smtp
    mails = region_store(engine, tmp_path)
    assert mails >= 500
    rng = random.Random()
    seed = rng.randrange(10**6)
    kill_at = random.Random(seed).randint(1, mails - 20)
    env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url,
           "NOK_SMTP_HOST": "127.0.0.1", "NOK_SMTP_PORT": str(port), "NOK_SMTP_CONNECTIONS": str(CONNECTIONS),
           "NOK_SMTP_TIMEOUT": "10", "NOK_MAIL_FROM": "nok@example.org", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "nok_workflow.cli", "outbox", "dispatch",
                             "--now", DAY.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def on_data() -> None:  # the server has the message, the dispatcher has not heard 250 yet
        if len(handler.messages) == kill_at:
            os.kill(proc.pid, signal.SIGKILL)

    handler.on_data = on_data
    out, err = proc.communicate(timeout=180)
    handler.on_data = None
    assert proc.returncode == -signal.SIGKILL, (kill_at, out.decode()[-2000:], err.decode()[-2000:])
    before = len(handler.messages)

    # The next dispatcher, after the dead one's lease: the rest go out.
    settings = Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=port,
                        smtp_connections=CONNECTIONS, mail_from="nok@example.org")
    later = DAY + mail_queue.LEASE + dt.timedelta(minutes=1)
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, later)

    received = Counter(m["Message-ID"] for m in handler.messages)
    with Session(engine) as session:
        stored = set(session.execute(select(Mail.message_id)).scalars())
    lost = len(stored - set(received))
    duplicates = sum(n - 1 for n in received.values())
    report(fault="SIGKILL of `nok outbox dispatch`", db=db_url.split(":")[0], seed=seed, mails=mails,
           killed_after=before, lost=lost, duplicates=duplicates)
    assert lost == 0 and set(received) == stored  # every mail out, under the Message-ID it was given
    assert mail_statuses(engine) == Counter({"sent": mails})
    assert duplicates <= CONNECTIONS, (seed, kill_at, duplicates)


class BlackHole:
    """A server that accepts TCP connections (the kernel's backlog does) and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


@pytest.mark.timing
def test_a_server_that_never_answers_stops_the_run_and_spends_no_attempts(engine, db_url, tmp_path):
    mails = region_store(engine, tmp_path)
    hole = BlackHole()
    try:
        settings = Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=hole.port, smtp_timeout=1,
                            smtp_connections=CONNECTIONS, mail_from="nok@example.org")
        start = time.monotonic()
        result = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, DAY)
        took = time.monotonic() - start
    finally:
        hole.close()
    report(fault="SMTP server accepts TCP, never answers (timeout 1 s)", db=db_url.split(":")[0], mails=mails,
           seconds=round(took, 2), lost=0, duplicates=0)
    assert took < 5, took  # a small multiple of the 1 s timeout, not 500 of them
    assert result.sent == 0 and result.failed == 0
    assert result.problem.startswith(f"SMTP-сервер не отвечает (127.0.0.1:{hole.port}): 4 попытки подряд без ответа")
    assert f"в очереди ждут {plural(mails, 'письмо', 'письма', 'писем')}" in result.problem
    statuses = mail_statuses(engine)
    assert "failed" not in statuses and "sending" not in statuses and sum(statuses.values()) == mails
    with Session(engine) as session:
        assert set(session.execute(select(Mail.attempts)).scalars()) == {0}  # nothing spent

    # Coordinators see it where they look.
    env = {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url}
    listed = run_nok("outbox", "list", "--status", "pending", env=env)
    assert listed.returncode == 0 and "SMTP-сервер не отвечает" in listed.stderr
    assert f"из {statuses['pending']}" in listed.stdout
    status = run_nok("status", "--plan", REGION, "--org", "school-00001", "--now", DAY.isoformat(), env=env)
    assert status.returncode == 0 and "SMTP-сервер не отвечает" in status.stdout

    # The server is back: everything goes, and the warning is gone.
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        back = settings.model_copy(update={"smtp_port": controller.port})
        again = dispatch_service.dispatch(engine, EmailNotifier.from_settings(back), back,
                                          DAY + dt.timedelta(minutes=10))
    finally:
        controller.stop()
    assert again.sent == mails and again.problem is None and len(handler.messages) == mails
    assert "SMTP-сервер не отвечает" not in run_nok("outbox", "list", env=env).stderr


@pytest.mark.timing
def test_a_second_dispatcher_during_a_slow_batch_sends_nothing_twice(engine, db_url, smtp, tmp_path, monkeypatch):
    """The first dispatcher holds its mails longer than a lease: it renews the lease as it goes."""
    handler, port = smtp
    handler.delay = 0.3
    monkeypatch.setattr(mail_queue, "LEASE", dt.timedelta(seconds=2))
    monkeypatch.setattr(dispatch_service, "RENEW_SECONDS", 0.5)
    mails = region_store(engine, tmp_path, schools=30)
    settings = Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=port, smtp_connections=2,
                        mail_from="nok@example.org")
    start = dt.datetime.now(dt.UTC)  # real time here: the lease is real time
    with Session(engine) as session:  # ready now (they were assembled for DAY)
        session.execute(Mail.__table__.update().values(next_attempt_at=start - dt.timedelta(minutes=1)))
        session.commit()
    reports = []
    first = threading.Thread(target=lambda: reports.append(dispatch_service.dispatch(
        connect(db_url), EmailNotifier.from_settings(settings), settings, start)))
    first.start()
    time.sleep(3)  # past the first one's original lease; it is still sending (32 × 0.3 s / 2)
    assert first.is_alive()
    second = dispatch_service.dispatch(connect(db_url), EmailNotifier.from_settings(settings), settings,
                                       dt.datetime.now(dt.UTC))
    first.join(timeout=60)
    received = Counter(m["Message-ID"] for m in handler.messages)
    report(fault="second dispatcher during a slow batch (lease 2 s, 0.3 s a message)", db=db_url.split(":")[0],
           mails=mails, lost=mails - len(received), duplicates=sum(n - 1 for n in received.values()))
    assert second.sent == 0
    assert reports[0].sent == mails == len(received) and set(received.values()) == {1}
