"""Digests and escalations in linked Telegram and MAX chats, through the same outbox as mail,
against the local bot API stubs (tests/support/bot_stubs.py) and a real SMTP server, on SQLite
and PostgreSQL: one message a channel-day, the items named, the upload button; a digest split
at the limit; 429, 403, 5xx and a silent API; the token nowhere it should not be."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

import pytest
from sqlalchemy import insert, select
from sqlmodel import Session

from nok_workflow.services.commands import plans
from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.delivery import mail_queue, outbox
from nok_workflow.services.delivery.outbox import list_mail
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.read import health
from nok_workflow.store.db import write_session
from nok_workflow.store.models import AuditEvent, ChatLink, Mail, Outbox, Party
from notifiers.email import EmailNotifier
from tests.support.bot_stubs import MAX_TOKEN, TELEGRAM_TOKEN, max_stub, refused_url, telegram_stub
from tests.support.mail import settings_for
from tests.support.paths import PLANS

ORENBURG = "orenburg-raion-2024"
SOVET, OPERATOR = "sovet", "operator"
TG_CHAT, MAX_CHAT = "4242", "7777"


def at(day: str, hour: int = 5) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


@pytest.fixture
def stubs():
    with telegram_stub() as tg, max_stub() as mx:
        yield tg, mx


def setup(engine, tmp_path, smtp_port, tg, mx, **extra):
    settings = settings_for(tmp_path, smtp_port, telegram_token=tg.token, telegram_api_url=tg.api_url,
                            max_token=mx.token, max_api_url=mx.api_url, **extra)
    plans.load(engine, PLANS / f"{ORENBURG}.yaml", actor=None, now=at("2024-09-17"))
    with Session(engine) as session:
        session.add(ChatLink(plan_id=ORENBURG, party_id=SOVET, channel="telegram", chat_id=TG_CHAT,
                             linked_at=at("2024-09-16")))
        session.add(ChatLink(plan_id=ORENBURG, party_id=OPERATOR, channel="max", chat_id=MAX_CHAT,
                             linked_at=at("2024-09-16")))
        session.commit()
    return settings


def run_day(engine, settings, day: str, hour: int = 5):
    now = at(day, hour)
    plan_run.steps(engine, ORENBURG, now)
    return dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)


def mails(engine) -> list[Mail]:
    with Session(engine) as session:
        return list(session.execute(select(Mail).order_by(Mail.id)).scalars())


def test_a_season_in_chats_one_message_a_channel_day_naming_the_items_with_the_button(
        engine, smtp, stubs, tmp_path):
    handler, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    sent_by_day: dict[str, Counter] = {}
    for day in ("2024-09-17", "2024-09-18", "2024-09-27", "2024-09-30", "2024-10-01", "2024-10-08", "2024-10-09"):
        before_tg, before_mx = len(tg.sent), len(mx.sent)
        for hour in (5, 9):  # a second run the same day sends nothing new
            report = run_day(engine, settings, day, hour)
            assert report.failed == 0, report.errors
        sent_by_day[day] = Counter(tg=len(tg.sent) - before_tg, mx=len(mx.sent) - before_mx)
    # at most one message (of one part here) a channel-day
    assert all(c["tg"] <= 1 and c["mx"] <= 1 for c in sent_by_day.values()), sent_by_day
    assert sent_by_day["2024-09-17"] == Counter(tg=1, mx=1)
    assert sent_by_day["2024-09-18"] == Counter()
    # the council's chat: its items named, in Telegram HTML, the upload button under it
    first = tg.sent[0]
    assert first.chat_id == TG_CHAT and first.raw["parse_mode"] == "HTML"
    assert "Здравствуйте" in first.text and "<b>Скоро срок</b>" in first.text
    assert "Пункт" in first.text
    assert first.button and first.button[1].startswith("https://nok.example.org/u/orenburg-raion-2024/sovet/")
    # the operator's MAX chat: markdown, its own link
    assert mx.sent[0].chat_id == MAX_CHAT and mx.sent[0].raw.get("format") == "markdown"
    assert mx.sent[0].button[1].startswith("https://nok.example.org/u/orenburg-raion-2024/operator/")
    # escalations too: on 08.10 the council gets the operator's late item escalated, in its chat
    escalated = [m for m in tg.sent if "Эскалировано вам" in m.text]
    assert escalated, [m.text[:80] for m in tg.sent]
    # e-mail still goes (mail_off is not set): the same days' digests by mail as well
    assert any("sovet@" in str(m["To"]) for m in handler.messages)
    # every chat message is a Mail of its channel, one per address and day
    chat_mails = [m for m in mails(engine) if m.channel != "email"]
    assert {m.address for m in chat_mails} == {f"telegram:{TG_CHAT}", f"max:{MAX_CHAT}"}
    assert len({(m.address, m.day) for m in chat_mails}) == len(chat_mails)
    assert all(m.status == "sent" for m in chat_mails)
    listed, _ = list_mail(engine)
    assert {m["channel"] for m in listed} == {"email", "telegram", "max"}


def test_only_in_messengers_no_email_while_a_chat_is_linked(engine, smtp, stubs, tmp_path):
    handler, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    with Session(engine) as session:
        session.get(Party, (ORENBURG, SOVET)).mail_off = True
        session.commit()
    run_day(engine, settings, "2024-09-17")
    assert not any("sovet@" in str(m["To"]) for m in handler.messages)
    assert [m.chat_id for m in tg.sent] == [TG_CHAT]
    with Session(engine) as session:  # its rows went to the chat: none failed for want of mail
        assert not session.execute(select(Outbox).where(Outbox.status == "failed")).first()


def test_a_digest_over_the_limit_goes_in_parts_in_order_the_button_on_the_last(engine, smtp, stubs, tmp_path):
    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    with Session(engine) as session:  # long titles: the council's digest no longer fits one message
        from nok_workflow.store.models import Item
        for item in session.execute(select(Item).where(Item.plan_id == ORENBURG)).scalars():
            item.title = (item.title + " — " + "подробное описание мероприятия " * 130)[:3800]
        session.commit()
    run_day(engine, settings, "2024-09-17")
    parts = [m for m in tg.sent if m.chat_id == TG_CHAT]
    assert len(parts) >= 2, (len(parts[0].text), parts[0].text[:3000])
    assert all(len(m.text) <= 4096 for m in parts)
    assert [m.button is not None for m in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[0].text.startswith("Здравствуйте") and "автоматически" in parts[-1].text
    (mail,) = [m for m in mails(engine) if m.channel == "telegram"]
    assert mail.status == "sent"


def test_429_waits_as_asked_and_spends_no_attempt(engine, smtp, stubs, tmp_path):
    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    tg.fail("sendMessage", 429, retry_after=120)
    run_day(engine, settings, "2024-09-17")
    (mail,) = [m for m in mails(engine) if m.channel == "telegram"]
    assert (mail.status, mail.attempts) == ("retry", 0)
    assert mail.next_attempt_at.replace(tzinfo=dt.UTC) >= at("2024-09-17") + dt.timedelta(seconds=120)
    assert not tg.sent
    # before the wait is over nothing goes; after it, the digest does
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                              at("2024-09-17") + dt.timedelta(seconds=60))
    assert not tg.sent
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                              at("2024-09-17") + dt.timedelta(seconds=200))
    assert [m.chat_id for m in tg.sent] == [TG_CHAT]


def test_403_unlinks_the_chat_blocked_with_an_audit_event_and_a_clear_reason(engine, smtp, stubs, tmp_path):
    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    tg.block(TG_CHAT)
    run_day(engine, settings, "2024-09-17")
    (mail,) = [m for m in mails(engine) if m.channel == "telegram"]
    assert mail.status == "failed" and "заблокировал бота" in mail.error
    with Session(engine) as session:
        link = session.execute(select(ChatLink).where(ChatLink.chat_id == TG_CHAT)).scalar_one()
        assert link.unlink_reason == "blocked" and link.unlinked_at is not None
        (event,) = session.execute(select(AuditEvent).where(AuditEvent.action == "chat.unlink")).scalars()
        assert event.details == {"party": SOVET, "channel": "telegram", "chat": TG_CHAT, "reason": "blocked"}
    # the next days: nothing more is tried there
    run_day(engine, settings, "2024-10-08")
    assert len(tg.requests_to("sendMessage")) == 1


def test_5xx_is_retried_with_backoff(engine, smtp, stubs, tmp_path):
    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    mx.fail("messages", 502)
    run_day(engine, settings, "2024-09-17")
    (mail,) = [m for m in mails(engine) if m.channel == "max"]
    assert (mail.status, mail.attempts) == ("retry", 1)
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                              at("2024-09-17") + dt.timedelta(minutes=2))
    assert [m.chat_id for m in mx.sent] == [MAX_CHAT]


def test_a_silent_api_opens_its_breaker_loses_nothing_and_the_other_channels_go_on(
        engine, smtp, stubs, tmp_path, caplog):
    handler, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    settings.telegram_api_url = refused_url()
    with Session(engine) as session:  # three chats, so the breaker (3 silent answers in a row) trips
        for n, party in enumerate(("uo", OPERATOR)):
            session.add(ChatLink(plan_id=ORENBURG, party_id=party, channel="telegram", chat_id=f"90{n}",
                                 linked_at=at("2024-09-16")))
        session.commit()
    caplog.set_level(logging.DEBUG)
    report = run_day(engine, settings, "2024-09-17")
    assert report.problem and "API Telegram не отвечает" in report.problem
    assert TELEGRAM_TOKEN not in report.problem and TELEGRAM_TOKEN not in "\n".join(report.errors)
    tg_mails = [m for m in mails(engine) if m.channel == "telegram"]
    assert tg_mails and all(m.status in ("pending", "retry") and m.attempts == 0 for m in tg_mails)
    assert [m.chat_id for m in mx.sent] == [MAX_CHAT]  # MAX and mail went on
    assert handler.messages
    (row,) = [h for h in health.problems(engine) if h.name == "telegram"]
    assert "не отвечает" in row.message
    # the API back: nothing was lost
    settings.telegram_api_url = tg.api_url
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                              at("2024-09-17") + dt.timedelta(minutes=5))
    assert sorted(m.chat_id for m in tg.sent) == sorted([TG_CHAT, "900", "901"])
    assert not [h for h in health.problems(engine) if h.name == "telegram"]
    assert TELEGRAM_TOKEN not in caplog.text and MAX_TOKEN not in caplog.text


def test_a_channel_without_a_token_keeps_its_messages_waiting(engine, smtp, stubs, tmp_path):
    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    settings.telegram_token = None
    run_day(engine, settings, "2024-09-17")
    (mail,) = [m for m in mails(engine) if m.channel == "telegram"]
    assert (mail.status, mail.attempts) == ("pending", 0)
    assert not tg.requests and [m.chat_id for m in mx.sent] == [MAX_CHAT]


def test_a_black_hole_api_opens_the_breaker_after_timeouts_and_loses_nothing(engine, smtp, stubs, tmp_path):
    """The API takes the connection and never answers: the sends time out (1 s here), the
    Telegram breaker opens, nothing is spent or lost; the next run delivers."""
    from notifiers.bots import TelegramBot
    from notifiers.chat import ChatNotifier

    _, port = smtp
    tg, mx = stubs
    settings = setup(engine, tmp_path, port, tg, mx)
    with Session(engine) as session:
        for n, party in enumerate(("uo", OPERATOR)):
            session.add(ChatLink(plan_id=ORENBURG, party_id=party, channel="telegram", chat_id=f"90{n}",
                                 linked_at=at("2024-09-16")))
        session.commit()
    tg.fail("sendMessage", "hang", times=3)
    plan_run.steps(engine, ORENBURG, at("2024-09-17"))
    quick = ChatNotifier(TelegramBot(tg.token, tg.api_url, timeout=1), 0, "html", (tg.token,))
    report = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, at("2024-09-17"),
                                       chats={"telegram": quick})
    assert report.problem and "API Telegram не отвечает: 3 попытки подряд без ответа" in report.problem
    assert TELEGRAM_TOKEN not in report.problem
    tg_mails = [m for m in mails(engine) if m.channel == "telegram"]
    assert len(tg_mails) == 3 and all(m.status == "retry" and m.attempts == 0 for m in tg_mails)
    assert not tg.sent
    quick = ChatNotifier(TelegramBot(tg.token, tg.api_url, timeout=5), 0, "html", (tg.token,))
    dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                              at("2024-09-17") + dt.timedelta(minutes=2), chats={"telegram": quick})
    assert sorted(m.chat_id for m in tg.sent) == sorted([TG_CHAT, "900", "901"])


def test_a_mail_to_a_chat_unlinked_since_is_not_sent_even_when_retried_by_hand(engine):
    """A messenger mail whose chat was unlinked (here: «отключить» on the page) after it was made
    fails at claim with the reason; `nok outbox retry` does not send it there either."""
    now = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
    with write_session(engine) as session:
        session.execute(insert(ChatLink).values(plan_id="p", party_id="x", channel="telegram", chat_id="42",
                                              linked_at=now, unlinked_at=now, unlink_reason="page"))
        session.execute(insert(Mail).values(channel="telegram", address="telegram:42", name="X", day=now.date(),
                                              status="pending", attempts=0, next_attempt_at=now, created_at=now))
    for _ in range(2):
        token, ids = mail_queue.claim(engine, now)
        assert ids == []
        with Session(engine) as session:
            assert session.execute(select(Mail.status, Mail.error)).one() == ("failed", mail_queue.CHAT_GONE)
        assert outbox.retry(engine, None, now) == 1  # put back by hand: still not sent to the chat


def test_the_dashboard_names_a_messenger_chat_not_its_internal_address():
    from nok_workflow.services.read.dashboard import FailedMail

    shown = [FailedMail(a, "Иванова", dt.date(2025, 3, 10), "failed", 1, None).shown_address
             for a in ("telegram:42", "max:-7", "ivanova@school.example.org")]
    assert shown == ["Telegram, чат 42", "MAX, чат -7", "ivanova@school.example.org"]
