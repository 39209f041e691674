"""Messenger delivery under faults, in real processes against the Telegram stub: `nok outbox
dispatch` killed with SIGKILL mid-batch (digests of several parts), then the next dispatcher;
and what `nok status` / `nok outbox list` say of a blocked chat, never showing the token.

`NOK_FAULT_TRIALS` sets how many kills per database (CI: 2; docs/faults.md: 10). With
`NOK_FAULT_REPORT=path` each trial appends a JSON line, as tests/test_delivery_faults.py does."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from benchmarks.region import region_plan
from nok_workflow.services.commands import plans
from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.delivery import mail_queue
from nok_workflow.services.delivery.composer import compose
from nok_workflow.services.jobs import plan_run
from nok_workflow.settings import Settings
from nok_workflow.store.models import ChatLink, Item, Mail, Party
from nok_workflow.tokens import secret
from notifiers.chat import WORKERS
from notifiers.files import FileNotifier
from tests.support.faults import TRIALS, report
from tests.support.bot_stubs import TELEGRAM_TOKEN, telegram_stub
from tests.support.cli import run_nok
from tests.support.paths import ROOT
from tests.support.region import DAY, REGION

pytestmark = pytest.mark.slow  # kill -9 mid-batch, real processes

SCHOOLS = 60


def chat_region(engine, tmp_path, schools: int = SCHOOLS) -> int:
    """A region whose every party reads only Telegram (chat = its index), the titles long enough
    that each digest goes in parts; swept and assembled: the number of chat mails."""
    path = tmp_path / "region.yaml"
    path.write_text(region_plan(schools, items=2), encoding="utf-8")
    plans.load(engine, path, actor=None, now=DAY - dt.timedelta(days=1))
    with Session(engine) as session:
        parties = session.execute(select(Party.id).where(Party.plan_id == REGION).order_by(Party.id)).scalars().all()
        for n, party in enumerate(parties):
            session.add(ChatLink(plan_id=REGION, party_id=party, channel="telegram", chat_id=str(1000 + n),
                                 linked_at=DAY - dt.timedelta(days=1)))
        session.execute(update(Party).where(Party.plan_id == REGION).values(mail_off=True))
        for item in session.execute(select(Item).where(Item.plan_id == REGION)).scalars():
            item.title = (item.title + " — " + "описание мероприятия по независимой оценке " * 60)[:2500]
        session.commit()
    plan_run.steps(engine, REGION, DAY)
    mail_queue.assemble(engine, DAY, "nok@example.org")
    with Session(engine) as session:
        return len(session.execute(select(Mail.id).where(Mail.channel == "telegram")).all())


def expected_parts(engine, settings: Settings) -> dict[str, set[str]]:
    with Session(engine) as session:
        ids = list(session.execute(select(Mail.id).where(Mail.channel == "telegram")).scalars())
    messages, broken = compose(engine, ids, settings, secret(settings.home), DAY, [])
    assert not broken
    return {m.to_address.partition(":")[2]: set(m.parts) for _, m in messages}


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_mid_batch_loses_no_part_and_resends_at_most_the_parts_in_flight(trial, engine, db_url, tmp_path):
    mails = chat_region(engine, tmp_path)
    assert mails >= SCHOOLS
    with telegram_stub() as tg:
        settings = Settings(home=tmp_path / ".nok", telegram_token=TELEGRAM_TOKEN, telegram_api_url=tg.api_url,
                            chat_rate=0, base_url="https://nok.example.org")
        expected = expected_parts(engine, settings)
        total = sum(len(p) for p in expected.values())
        assert total >= mails + SCHOOLS  # every school's digest in parts
        seed = random.Random().randrange(10**6)
        kill_at = random.Random(seed).randint(1, total - 10)
        env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url,
               "NOK_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "NOK_TELEGRAM_API_URL": tg.api_url, "NOK_CHAT_RATE": "0",
               "NOK_BASE_URL": "https://nok.example.org", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "nok_workflow.cli", "outbox", "dispatch",
                                 "--now", DAY.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def killer() -> None:  # as soon as the stub has taken the kill_at-th part
            while proc.poll() is None:
                if len(tg.sent) >= kill_at:
                    os.kill(proc.pid, signal.SIGKILL)
                    return
                time.sleep(0.001)

        watch = threading.Thread(target=killer)
        watch.start()
        out, err = proc.communicate(timeout=180)
        watch.join()
        assert proc.returncode == -signal.SIGKILL, (kill_at, out.decode()[-2000:], err.decode()[-2000:])
        before = len(tg.sent)
        # The next dispatcher, after the dead one's lease: the rest go out.
        later = DAY + mail_queue.LEASE + dt.timedelta(minutes=1)
        dispatch_service.dispatch(engine, FileNotifier(settings.outbox_dir), settings, later)
        received: dict[str, Counter] = {}
        for m in tg.sent:
            received.setdefault(m.chat_id, Counter())[m.text] += 1
    lost = sum(len(parts - set(received.get(chat, ()))) for chat, parts in expected.items())
    duplicates = sum(n - 1 for c in received.values() for n in c.values())
    report(fault="SIGKILL of `nok outbox dispatch` (Telegram, digests in parts)", db=db_url.split(":")[0],
           seed=seed, mails=mails, parts=total, killed_after=before, lost=lost, duplicates=duplicates)
    assert lost == 0
    with Session(engine) as session:
        assert Counter(session.execute(select(Mail.status).where(Mail.channel == "telegram")).scalars()) == \
            Counter({"sent": mails})
    assert duplicates <= WORKERS, (seed, kill_at, duplicates)


def test_status_and_outbox_list_show_a_blocked_chat_and_the_channel_never_the_token(engine, db_url, tmp_path):
    chat_region(engine, tmp_path, schools=3)
    with Session(engine) as session:
        chats = sorted(a.partition(":")[2] for a in session.execute(select(Mail.address)).scalars())
    with telegram_stub() as tg:
        tg.block(chats[0])
        settings = Settings(home=tmp_path / ".nok", telegram_token=TELEGRAM_TOKEN, telegram_api_url=tg.api_url)
        dispatch_service.dispatch(engine, FileNotifier(settings.outbox_dir), settings, DAY)
        env = {"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": db_url, "NOK_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
               "NOK_TELEGRAM_API_URL": tg.api_url}
        status = run_nok("status", "--plan", REGION, "--now", DAY.isoformat(), env=env)
        listed = run_nok("outbox", "list", env=env)
        unset = run_nok("status", "--plan", REGION, "--now", DAY.isoformat(),
                        env={**env, "NOK_TELEGRAM_TOKEN": ""})
    assert status.returncode == 0, status.stderr
    assert "заблокировал бота" in status.stdout and "Telegram: подключено чатов" in status.stdout
    assert listed.returncode == 0 and "Telegram" in listed.stdout and f"telegram:{chats[1]}" in listed.stdout
    for run in (status, listed, unset):
        assert TELEGRAM_TOKEN not in run.stdout + run.stderr
        assert TELEGRAM_TOKEN.split(":")[1] not in run.stdout + run.stderr
