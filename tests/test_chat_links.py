"""Linking a messenger chat to a party (services/commands/chat_links.py, services/read/chat_links.py)
and the bots' polling lease (services/commands/bot_state.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.commands import audit, bot_state, chat_links, plans
from nok_workflow.services.read import chat_links as chat_view
from nok_workflow.store.models import ChatLink, ChatStart, Party
from nok_workflow.tokens import digest
from tests.support.plans import MINIMAL_PLAN

NOW = dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.UTC)
CONFIRM = ("Готово: напоминания по плану «Тестовый план» для «Отдел образования» будут приходить сюда. "
           "Отключить — /stop или на вашей странице.")


def _plan(engine, write_plan):
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=NOW)


def _links(engine):
    with Session(engine) as session:
        return [(r.channel, r.chat_id, r.unlinked_at is None, r.unlink_reason)
                for r in session.execute(select(ChatLink).order_by(ChatLink.id)).scalars()]


def test_start_links_the_chat_once_and_uses_the_token_up(engine, write_plan):
    _plan(engine, write_plan)
    token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram", now=NOW)
    with Session(engine) as session:
        rows = session.execute(select(ChatStart)).scalars().all()
        assert [r.token_hash for r in rows] == [digest(token)]  # only the hash is kept
        assert rows[0].expires_at.replace(tzinfo=dt.UTC) == NOW + dt.timedelta(minutes=30)
    done = chat_links.handle(engine, "telegram", "42", f"/start {token}", token, now=NOW + dt.timedelta(minutes=5))
    assert done.reply == CONFIRM and done.changed
    assert _links(engine) == [("telegram", "42", True, None)]
    # The same update handled again (a crash before its offset was stored): the same answer, nothing doubled.
    again = chat_links.handle(engine, "telegram", "42", f"/start {token}", token, now=NOW + dt.timedelta(minutes=6))
    assert again.reply == CONFIRM and not again.changed
    # Another chat with the used token: refused too.
    other = chat_links.handle(engine, "telegram", "43", f"/start {token}", token, now=NOW + dt.timedelta(minutes=6))
    assert other.reply == chat_links.REFUSED
    # A second token pressed and used from the same chat: still one live link.
    second = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram", now=NOW)
    assert chat_links.link(engine, "telegram", "42", second, now=NOW).reply == CONFIRM
    assert _links(engine) == [("telegram", "42", True, None)]
    assert [e.action for e in audit.events(engine) if e.action.startswith("chat.")] == ["chat.link"]


def test_expired_forged_and_other_channel_tokens_link_nothing(engine, write_plan):
    _plan(engine, write_plan)
    token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram", now=NOW)
    late = NOW + dt.timedelta(minutes=30)
    for channel, start, at in (("telegram", token, late), ("telegram", token[:-1] + "x", NOW),
                               ("telegram", "", NOW), ("max", token, NOW)):
        assert chat_links.link(engine, channel, "42", start, now=at).reply == chat_links.REFUSED
    assert _links(engine) == []
    # A newer token replaces the earlier unused one: the first link stops working.
    newer = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="telegram", now=NOW)
    assert chat_links.link(engine, "telegram", "42", token, now=NOW).reply == chat_links.REFUSED
    assert chat_links.link(engine, "telegram", "42", newer, now=NOW).reply == CONFIRM


def test_stop_page_and_blocked_unlink_and_the_page_view_says_so(engine, write_plan):
    _plan(engine, write_plan)
    for channel, chat in (("telegram", "42"), ("max", "501")):
        token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel=channel, now=NOW)
        chat_links.link(engine, channel, chat, token, now=NOW)
    view = chat_view.for_party(engine, plan_id="test-plan", party_id="otdel", configured=("telegram", "max"))
    assert [(c.channel, c.linked, c.blocked) for c in view.channels] == [("telegram", 1, False), ("max", 1, False)]
    assert [link.party_id for link in chat_view.live_links(engine, channel="max", chat_id="501")] == ["otdel"]

    stopped = chat_links.handle(engine, "telegram", "42", "/stop", None, now=NOW)
    assert stopped.changed and "«Тестовый план»" in stopped.reply
    assert chat_links.handle(engine, "telegram", "42", "/stop", None, now=NOW).reply == chat_links.NOTHING_TO_STOP
    assert chat_links.handle(engine, "telegram", "42", "привет", None, now=NOW).reply == chat_links.HELP
    assert chat_links.blocked(engine, channel="max", chat_id="501", now=NOW) == 1
    view = chat_view.for_party(engine, plan_id="test-plan", party_id="otdel", configured=("telegram", "max"))
    assert [(c.channel, c.linked, c.blocked) for c in view.channels] == [("telegram", 0, False), ("max", 0, True)]
    token = chat_links.issue_start(engine, plan_id="test-plan", party_id="otdel", channel="max", now=NOW)
    chat_links.link(engine, "max", "501", token, now=NOW)
    assert chat_links.unlink_from_page(engine, plan_id="test-plan", party_id="otdel", channel="max", now=NOW) == 1
    assert [r[3] for r in _links(engine)] == ["stop", "blocked", "page"]
    unlinks = [e for e in audit.events(engine) if e.action == "chat.unlink"]
    assert [e.details["reason"] for e in unlinks] == ["stop", "blocked", "page"]
    assert "на личной странице" in audit.audit_line({"at": NOW.isoformat(), "plan": "test-plan",
                                                       "action": "chat.unlink", "actor": "otdel",
                                                       "details": unlinks[-1].details})


def test_mail_off(engine, write_plan):
    _plan(engine, write_plan)
    chat_links.set_mail_off(engine, plan_id="test-plan", party_id="otdel", off=True, now=NOW)
    with Session(engine) as session:
        assert session.get(Party, ("test-plan", "otdel")).mail_off
    assert chat_view.for_party(engine, plan_id="test-plan", party_id="otdel", configured=()).mail_off
    chat_links.set_mail_off(engine, plan_id="test-plan", party_id="otdel", off=False, now=NOW)
    assert not chat_view.for_party(engine, plan_id="test-plan", party_id="otdel", configured=()).mail_off


def test_one_poller_holds_the_lease_until_it_ends_or_lapses(engine):
    assert bot_state.take_lease(engine, "telegram", "a", now=NOW)
    assert not bot_state.take_lease(engine, "telegram", "b", now=NOW + dt.timedelta(seconds=30))
    assert bot_state.take_lease(engine, "max", "b", now=NOW)  # each bot its own lease
    assert bot_state.save(engine, "telegram", "a", now=NOW + dt.timedelta(seconds=60), offset="17", username="bot")
    assert not bot_state.save(engine, "telegram", "b", now=NOW, offset="99")
    assert bot_state.offset(engine, "telegram") == "17" and chat_view.username(engine, "telegram") == "bot"
    # a's lease renewed at 60 s runs to 150 s; after it b takes over, and a has lost it.
    assert not bot_state.take_lease(engine, "telegram", "b", now=NOW + dt.timedelta(seconds=140))
    assert bot_state.take_lease(engine, "telegram", "b", now=NOW + dt.timedelta(seconds=151))
    assert not bot_state.save(engine, "telegram", "a", now=NOW + dt.timedelta(seconds=152), offset="18")
    bot_state.release(engine, "telegram", "b", now=NOW + dt.timedelta(seconds=153))
    assert bot_state.take_lease(engine, "telegram", "a", now=NOW + dt.timedelta(seconds=154))
    assert bot_state.offset(engine, "telegram") == "17"


def test_deep_links():
    assert chat_view.deep_link("telegram", "nok_bot", "abc-_1") == "https://t.me/nok_bot?start=abc-_1"
    assert chat_view.deep_link("max", "nok_max_bot", "abc") == "https://max.ru/nok_max_bot?start=abc"
