"""Mail to `.invalid` addresses (the demo plan's) stays in the outbox folder, even with an
SMTP server configured; the rest goes to the server (a real aiosmtpd)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email

import pytest

from notifiers import Message, Outcome, from_settings
from notifiers.files import FileNotifier
from notifiers.routing import RoutingNotifier, kept_local
from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.jobs.demo import make_demo
from nok_workflow.settings import Settings
from tests.support.mail import settings_for
from tests.support.serve import free_port


def message(n: int, address: str) -> Message:
    return Message(to_address=address, to_name=f"Адресат {n}", subject=f"Сводка {n}", text=f"текст {n}",
                   html=f"<p>текст {n}</p>", message_id=f"<m{n}@nok.example.org>")


def deliver(notifier, messages: list[Message], stop_after: int | None = None) -> list[tuple[int, Outcome]]:
    recorded: list[tuple[int, Outcome]] = []

    async def record(index: int, outcome: Outcome) -> bool:
        recorded.append((index, outcome))
        return stop_after is None or len(recorded) < stop_after

    asyncio.run(notifier.deliver(messages, record))
    return recorded


def eml_files(settings: Settings) -> dict[str, email.message.Message]:
    return {m["Message-ID"]: m for m in (email.message_from_bytes(p.read_bytes())
                                         for p in settings.outbox_dir.glob("*.eml"))}


def test_a_real_address_goes_to_the_server_and_an_invalid_one_to_a_file(smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    notifier = from_settings(settings)
    assert isinstance(notifier, RoutingNotifier)
    recorded = deliver(notifier, [message(0, "director@example.org"), message(1, "uo@demo.invalid")])

    assert sorted(i for i, _ in recorded) == [0, 1]
    outcomes = dict(recorded)
    assert all(o.delivered for o in outcomes.values())
    assert outcomes[1].response.startswith("записано: ") and outcomes[1].response.endswith(".eml")
    assert not outcomes[0].response.startswith("записано")  # the server's answer
    assert [m["Message-ID"] for m in handler.messages] == ["<m0@nok.example.org>"]
    files = eml_files(settings)
    assert list(files) == ["<m1@nok.example.org>"] and "uo@demo.invalid" in files["<m1@nok.example.org>"]["To"]


def test_indices_map_back_in_a_mixed_batch(smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    addresses = ["a@demo.invalid", "b@example.org", "c@other.INVALID", "d@example.org", "e@example.org"]
    recorded = deliver(from_settings(settings), [message(n, a) for n, a in enumerate(addresses)])

    assert sorted(i for i, _ in recorded) == [0, 1, 2, 3, 4]
    to_files = {i for i, o in recorded if o.response.startswith("записано: ")}
    assert to_files == {0, 2}
    assert sorted(m["Message-ID"] for m in handler.messages) == ["<m1@nok.example.org>", "<m3@nok.example.org>",
                                                                  "<m4@nok.example.org>"]
    assert sorted(eml_files(settings)) == ["<m0@nok.example.org>", "<m2@nok.example.org>"]


def test_record_returning_false_starts_nothing_more(smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    recorded = deliver(from_settings(settings), [message(0, "director@example.org"), message(1, "x@demo.invalid"),
                                                 message(2, "y@demo.invalid")], stop_after=1)
    # The files go first; the first answer said stop: neither the second file nor the server.
    assert [i for i, _ in recorded] == [1]
    assert handler.messages == [] and list(eml_files(settings)) == ["<m1@nok.example.org>"]


def test_an_unreachable_server_does_not_hold_back_the_files(tmp_path):
    settings = settings_for(tmp_path, free_port())  # nobody listens there
    recorded = dict(deliver(from_settings(settings), [message(0, "director@example.org"),
                                                      message(1, "uo@demo.invalid")]))
    assert recorded[1].delivered and not recorded[0].delivered and not recorded[0].reached


def test_without_smtp_everything_is_a_file(tmp_path):
    assert isinstance(from_settings(Settings(home=tmp_path / ".nok")), FileNotifier)


@pytest.mark.parametrize(("address", "local"), [
    ("uo@demo.invalid", True), ("UO@Demo.INVALID.", True), ("Имя <a@b.invalid>", True), ("x@invalid", True),
    ("uo@example.org", False), ("uo@invalid.example.org", False), ("uo@notinvalid", False), ("", False),
])
def test_which_addresses_stay_local(address, local):
    assert kept_local(address) is local


def test_the_demo_plans_mail_never_reaches_the_server(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    now = dt.datetime(2026, 11, 24, 5, tzinfo=dt.UTC)  # 10:00 in Orenburg, after the plan's hour
    make_demo(engine, now, settings)
    report = dispatch_service.dispatch(engine, from_settings(settings), settings, now)

    files = eml_files(settings)
    assert report.sent >= 3 and report.failed == 0 and len(files) == report.sent
    assert handler.messages == []
    assert {email.utils.parseaddr(m["To"])[1].rpartition("@")[2] for m in files.values()} == {"demo.invalid"}
    # The server was never asked: its health (shown by nok status) is not claimed to be good.
    from nok_workflow.services.read.health import problems
    from nok_workflow.store.models import ServiceHealth
    from sqlmodel import Session

    with Session(engine) as session:
        assert session.get(ServiceHealth, "smtp") is None
    assert problems(engine) == []
