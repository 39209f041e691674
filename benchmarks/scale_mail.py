"""Digests end to end (assemble, render, encode, send, record) against raw aiosmtplib sending
the same number of messages over the same number of connections to the same aiosmtpd sink.

Part of `python -m benchmarks` (the `mail` benchmark).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller

from benchmarks.common import free_port
from benchmarks.figures import Section, ratio, seconds
from benchmarks.region import region_plan
from nok_workflow.services.delivery import dispatch
from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from notifiers.email import EmailNotifier


class Sink:
    """Takes every message; while `kept` is a list, keeps what arrived (envelope and bytes)."""

    def __init__(self) -> None:
        self.count = 0
        self.kept: list[tuple[str, list[str], bytes]] | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.count += 1
        if self.kept is not None:
            self.kept.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


async def raw(port: int, messages: list[tuple[str, list[str], bytes]], connections: int) -> None:
    """The baseline: the very bytes of our digests, sent with plain aiosmtplib, nothing else."""
    queue: asyncio.Queue[tuple[str, list[str], bytes]] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
            while not queue.empty():
                sender, recipients, content = queue.get_nowait()
                await client.sendmail(sender, recipients, content)

    await asyncio.gather(*(worker() for _ in range(connections)))


def sections(schools: int, connections: int) -> list[Section]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "region.yaml"
        path.write_text(region_plan(schools), encoding="utf-8")
        settings = Settings(home=Path(tmp), smtp_host="127.0.0.1", smtp_port=controller.port,
                            smtp_connections=connections, mail_from="nok@example.org")
        engine = connect(settings.url)
        now = dt.datetime(2025, 3, 28, 4, tzinfo=dt.UTC)
        plans.load(engine, path, actor=None, now=now - dt.timedelta(days=1))
        # the plan-loaded notices go out the day before, so today's digests are reminders only
        dispatch.dispatch(engine, EmailNotifier.from_settings(settings), settings, now - dt.timedelta(days=1))
        start = time.perf_counter()
        outcomes = plan_run.steps(engine, "region-2025", now)
        swept = time.perf_counter() - start
        queued = sum(o.queued for o in outcomes)
        sink.count, sink.kept = 0, []
        start = time.perf_counter()
        report = dispatch.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)
        ours = time.perf_counter() - start
        mails = report.sent
        messages, sink.kept = sink.kept, None
        start = time.perf_counter()
        asyncio.run(raw(controller.port, messages, connections))
        bare = time.perf_counter() - start
    controller.stop()
    size = sum(len(m[2]) for m in messages)
    s = Section("Digests through SMTP: end to end against raw aiosmtplib",
                f"One plan of {schools:,} schools swept on a day when every school has a reminder, then its digests "
                f"sent over {connections} connections to a local aiosmtpd sink (in this process). Baseline: raw "
                "aiosmtplib sending the very same messages (the bytes the sink received from us, "
                f"{size / 1024 / 1024:,.1f} MB) over the same number of connections, nothing read or recorded.")
    s.add("daily sweep of the plan (first run)", seconds(swept), target="", met=None)
    s.add("messages queued by the sweep", f"{queued:,}")
    s.add(f"digests assembled, rendered, sent and recorded: {mails:,}", f"{ours:,.2f} s ({mails / ours:,.0f}/s)",
          baseline=f"raw {bare:,.2f} s ({mails / bare:,.0f}/s)")
    s.add("end to end / raw (throughput)", ratio(bare / ours), target="≥ 0.8×", met=bare / ours >= 0.8)
    return [s]
