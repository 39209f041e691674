"""Benchmark: a region's daily sweep and its digests through SMTP, against raw aiosmtplib.

    .venv/bin/python -m benchmarks.bench_mail [--schools 3000] [--connections 8]

A local aiosmtpd server takes the mail. Not a test: the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller

from benchmarks.common import free_port
from benchmarks.region import region_plan
from nok_workflow.services import dispatch, plans, sweep
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from notifiers.email import EmailNotifier


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.count += 1
        return "250 OK"



async def raw(port: int, messages: list[EmailMessage], connections: int) -> None:
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
            while not queue.empty():
                await client.send_message(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(connections)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "region.yaml"
        path.write_text(region_plan(args.schools), encoding="utf-8")
        settings = Settings(home=Path(tmp), smtp_host="127.0.0.1", smtp_port=controller.port,
                            smtp_connections=args.connections, mail_from="nok@example.org")
        engine = connect(settings.url)
        now = dt.datetime(2025, 3, 28, 4, tzinfo=dt.UTC)
        plans.load(engine, path, actor=None, now=now - dt.timedelta(days=1))
        # the plan-loaded notices go out the day before, so today's digests are reminders only
        dispatch.dispatch(engine, EmailNotifier.from_settings(settings), settings, now - dt.timedelta(days=1))
        start = time.perf_counter()
        outcomes = sweep.sweep_plan(engine, "region-2025", now)
        swept = time.perf_counter() - start
        queued = sum(o.queued for o in outcomes)
        sink.count = 0
        start = time.perf_counter()
        report = dispatch.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)
        ours = time.perf_counter() - start
        mails = report.sent
        messages = []
        for i in range(mails):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "nok@example.org", f"school{i}@region.example.org", "Напоминание"
            m.set_content("Здравствуйте!\n" * 20)
            m.add_alternative("<p>Здравствуйте!</p>" * 20, subtype="html")
            messages.append(m)
        start = time.perf_counter()
        asyncio.run(raw(controller.port, messages, args.connections))
        bare = time.perf_counter() - start
        # Delivery alone: the notifier with ready messages of the same size, against raw.
        from notifiers.base import Message

        ready = [Message(f"school{i}@region.example.org", f"Школа {i}", "Напоминание о сроке",
                         "Здравствуйте!\n" * 20, "<p>Здравствуйте!</p>" * 20, f"<m{i}@nok>") for i in range(mails)]
        async def nothing_to_record(index: int, outcome) -> bool:  # noqa: ANN001
            return True

        start = time.perf_counter()
        asyncio.run(EmailNotifier.from_settings(settings).deliver(ready, nothing_to_record))
        delivery = time.perf_counter() - start
        # The same ready messages with every answer written to the store before the next
        # message on its connection (what `dispatch` does): the cost of crash safety.
        from nok_workflow.services.dispatch import Breaker, RunClock, _Batch, claim

        from sqlalchemy import update

        from nok_workflow.store.models import Mail

        with engine.begin() as conn:  # the day's mails, ready again, to be sent as `ready`
            conn.execute(update(Mail).values(status="pending", attempts=0, next_attempt_at=now))
        token, ids = claim(engine, now, limit=len(ready))
        batch = _Batch(engine, token, ids, RunClock(now), Breaker(), dispatch.DispatchReport())
        start = time.perf_counter()
        asyncio.run(batch.send(EmailNotifier.from_settings(settings), list(zip(ids, ready, strict=True))))
        recorded = time.perf_counter() - start
    controller.stop()
    print(f"| measure ({args.schools} schools, {args.connections} SMTP connections) | value |\n|---|---|")
    print(f"| daily sweep of the plan (8 item steps, 102k obligations, first run) | {swept * 1000:,.0f} ms |")
    print(f"| messages queued by the sweep | {queued:,} |")
    print(f"| digests assembled, rendered and sent | {mails:,} in {ours:,.2f} s ({mails / ours:,.0f}/s) |")
    print(f"| raw aiosmtplib, same count, same connections | {bare:,.2f} s ({mails / bare:,.0f}/s) |")
    print(f"| end to end (assemble + render + send + record) / raw | {bare / ours:.2f}× |")
    print(f"| EmailNotifier.deliver of ready messages | {delivery:,.2f} s ({mails / delivery:,.0f}/s), "
          f"{bare / delivery:.2f}× raw |")
    print(f"| the same, each answer recorded before its connection sends again | {recorded:,.2f} s "
          f"({len(ids) / recorded:,.0f}/s), {bare / recorded:.2f}× raw |")


if __name__ == "__main__":
    main()
