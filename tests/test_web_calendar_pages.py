"""Calendar subscriptions from the pages: an executor gets the address of their own deadlines
on their personal page, a coordinator the whole plan's on the plan's «Календарь» tab, where
the plan's live subscriptions are listed and can be revoked."""

from __future__ import annotations

import re

from icalendar import Calendar
from sqlmodel import Session, select

from nok_workflow.services.commands import feeds
from nok_workflow.store.models import AuditEvent, CalendarFeed
from nok_workflow.tokens import upload_link
from tests.support.web import PLAN, orenburg, sign_in
from tests.support.web import KEY, client

ADDRESS = re.compile(r'id="calendar-url"[^>]*value="(http://[^"]+/ical/[^"]+\.ics)"')


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _uids(body: bytes) -> set[str]:
    return {str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")}


def test_an_executor_gets_their_own_calendar_address_once_and_a_new_one_replaces_it(engine, app_of):
    orenburg(engine)
    app = app_of(engine)
    c = client(app)
    page = upload_link("", KEY, PLAN, "sovet")
    shown = c.get(page)
    assert "Получить адрес для календаря" in shown.text and not ADDRESS.search(shown.text)
    made = c.post(f"{page}/calendar", data={"csrf": c.cookies["nok_csrf"]})
    assert made.status_code == 200 and made.headers["cache-control"].startswith("no-store")
    first = ADDRESS.search(made.text)[1]
    assert f'href="webcal://{first.split("://", 1)[1]}"' in made.text
    feed = c.get(_path(first))
    assert feed.status_code == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    # The council's own deadlines only: I.1 is theirs, II.1 the operator's.
    keys = {u.split("/")[1] for u in _uids(feed.content)}
    assert "I.1" in keys and "II.1" not in keys
    assert c.get(page).text.count("/ical/") == 0  # not shown again

    again = ADDRESS.search(c.post(f"{page}/calendar", data={"csrf": c.cookies["nok_csrf"]}).text)[1]
    assert again != first
    assert c.get(_path(first)).status_code == 404 and c.get(_path(again)).status_code == 200
    with Session(engine) as session:
        rows = session.execute(select(CalendarFeed).order_by(CalendarFeed.id)).scalars().all()
        assert [(r.party_id, r.created_by, r.revoked_at is None) for r in rows] == [
            ("sovet", "sovet", False), ("sovet", "sovet", True)]
        assert session.execute(select(AuditEvent.action).where(AuditEvent.action == "feed.create")).all()


def test_a_forged_link_gets_no_calendar(engine, app_of):
    orenburg(engine)
    c = client(app_of(engine))
    forged = upload_link("", b"x" * 32, PLAN, "sovet")
    c.get(upload_link("", KEY, PLAN, "sovet"))  # a CSRF cookie from a real page
    assert c.post(f"{forged}/calendar", data={"csrf": c.cookies["nok_csrf"]}).status_code == 404
    assert feeds.listed(engine) == []


def test_the_coordinator_gets_the_plan_address_sees_and_revokes_subscriptions(engine, app_of):
    orenburg(engine)
    app = app_of(engine)
    by_cli, _ = feeds.create(engine, name="телефон Ивановой", plan_id=PLAN, owner="sovet", org=None, by="uo",
                             now=app.state.ctx.now())
    c = sign_in(app)
    tab = c.get(f"/plans/{PLAN}/calendar")
    assert tab.status_code == 200 and "телефон Ивановой" in tab.text and 'aria-current="page">Календарь' in tab.text
    made = c.post(f"/plans/{PLAN}/calendar", data={"csrf": c.cookies["nok_csrf"]})
    assert made.headers["cache-control"] == "no-store"
    address = ADDRESS.search(made.text)[1]
    whole = c.get(_path(address))
    assert whole.status_code == 200 and len(_uids(whole.content)) == 12  # every obligation of the plan

    revoked = c.post(f"/plans/{PLAN}/calendar/{by_cli.id}/revoke", data={"csrf": c.cookies["nok_csrf"]},
                     follow_redirects=False)
    assert revoked.status_code == 303
    after = c.get(revoked.headers["location"])
    assert f"Подписка №{by_cli.id} «телефон Ивановой» отозвана" in after.text
    assert "телефон Ивановой" not in after.text.split("Действующие подписки плана")[1]
    assert [f.id for f in feeds.listed(engine) if f.revoked_at is None] != [by_cli.id]
    # Revoking it twice, or a subscription of another plan, is «not found».
    assert c.post(f"/plans/{PLAN}/calendar/{by_cli.id}/revoke",
                  data={"csrf": c.cookies["nok_csrf"]}).status_code == 404


def test_the_calendar_tab_needs_the_plans_coordinator(engine, app_of):
    orenburg(engine)
    app = app_of(engine)
    anonymous = client(app)
    assert anonymous.get(f"/plans/{PLAN}/calendar", follow_redirects=False).headers["location"] == "/login"
