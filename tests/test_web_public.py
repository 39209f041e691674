"""The public progress pages (web/public.py) and their switches (web/coordinator_publication.py):
no sign-in, the same 404 for a closed page as for an unknown one, the security headers, a short
public cache and no cookie; no personal datum of the store in the HTML, JSON or CSV; the switches
need the CSRF token and the plan's coordinator or the campaign's owner. In Chromium at 375 and
1280 px (the screenshots in docs/screenshots/)."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import Session

from nok_workflow.services.commands import accounts
from nok_workflow.store.models import Campaign, Plan
from tests.support.paths import ROOT
from tests.support.public_plans import CAMPAIGN, NOW, SOSH5, SOSH7, personal_data, two_schools
from tests.support.web import PASSWORD, client, sign_in

AT = NOW.isoformat()
PLAN_URLS = [f"/open/plans/{SOSH5}", f"/open/plans/{SOSH5}.json", f"/open/plans/{SOSH5}.csv"]
CAMPAIGN_URLS = [f"/open/campaigns/{CAMPAIGN}", f"/open/campaigns/{CAMPAIGN}.json", f"/open/campaigns/{CAMPAIGN}.csv"]
ARTIFACTS = ROOT / "tests" / "artifacts" / "public"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def schools(engine, tmp_path, app_of):
    two_schools(engine, tmp_path)
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=NOW)
    accounts.add(engine, login="other", name="Другой координатор", email=None, password=PASSWORD, now=NOW)
    return app_of(engine, now=AT)


def _public(engine, plan: bool | None = None, campaign: bool | None = None) -> tuple[bool, bool]:
    with Session(engine) as session:
        row, k = session.get(Plan, SOSH5), session.get(Campaign, CAMPAIGN)
        if plan is not None:
            row.public = plan
        if campaign is not None:
            k.public = campaign
        session.commit()
        return row.public, k.public


def test_a_closed_page_is_the_same_404_as_an_unknown_one(engine, schools):
    c = client(schools)
    unknown = c.get("/open/plans/no-such-plan")
    assert unknown.status_code == 404 and "Страница не найдена" in unknown.text
    for url in [*PLAN_URLS, *CAMPAIGN_URLS, f"/open/plans/{SOSH7}", "/open/campaigns/no-such.json"]:
        closed = c.get(url)
        assert (closed.status_code, closed.text) == (404, unknown.text), url


def test_open_pages_show_positions_and_no_personal_datum(engine, schools):
    _public(engine, plan=True, campaign=True)
    c = client(schools)
    bodies = {}
    for url in [*PLAN_URLS, f"/open/plans/{SOSH7}", f"/open/plans/{SOSH7}.json", f"/open/plans/{SOSH7}.csv",
                *CAMPAIGN_URLS]:
        response = c.get(url)
        assert response.status_code == 200, url
        bodies[url] = response.content.decode("utf-8-sig")
    shown = "\n".join(bodies.values())
    assert [datum for datum in personal_data(engine) if datum in shown] == []
    page = bodies[f"/open/plans/{SOSH5}"]
    for words in ("МБОУ «СОШ № 5»", "по состоянию на", "10 июня 2025", "заместитель директора по УВР",
                  "Вход в здание не оборудован пандусом", "не наступил срок", "просрочено", "№ 457",
                  "НОК-2024: школы Заречного района"):
        assert words in page, words
    assert "ответственный работник" in bodies[f"/open/plans/{SOSH7}"]
    assert "<script" not in page and "style=" not in page and "<form" not in page
    campaign = bodies[f"/open/campaigns/{CAMPAIGN}"]
    assert f'href="/open/plans/{SOSH5}"' in campaign and f'href="/open/plans/{SOSH7}"' in campaign
    data = c.get(f"/open/plans/{SOSH5}.json").json()
    assert data["totals"] == {"total": 10, "on_time": 2, "late": 0, "overdue": 2, "in_progress": 3, "not_yet": 3}
    assert data["url"] == f"http://127.0.0.1:8470/open/plans/{SOSH5}"
    counts = {p["plan_id"]: p["counts"] for p in c.get(f"/open/campaigns/{CAMPAIGN}.json").json()["plans"]}
    assert counts[SOSH5] == data["totals"]


def test_every_public_answer_has_the_security_headers_a_short_cache_and_no_cookie(engine, schools):
    _public(engine, plan=True, campaign=True)
    c = client(schools)
    types = ["text/html", "application/json", "text/csv"] * 2
    for url, kind in zip([*PLAN_URLS, *CAMPAIGN_URLS], types, strict=True):
        response = c.get(url)
        headers = response.headers
        assert response.status_code == 200 and headers["content-type"].startswith(kind), url
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "public, max-age=60"
        assert "set-cookie" not in headers, url
    csv = c.get(PLAN_URLS[2])
    assert csv.content.startswith("\ufeff".encode()) and "attachment" in csv.headers["content-disposition"]
    assert "set-cookie" in client(schools).get("/login").headers  # the other pages still set the CSRF cookie


def test_the_coordinator_opens_and_closes_the_page_from_the_dashboard(engine, schools):
    c = sign_in(schools)
    dashboard = c.get(f"/plans/{SOSH5}").text
    assert "Открыть страницу хода выполнения для всех" in dashboard
    forged = c.post(f"/coordinator/plans/{SOSH5}/public", data={"public": "1", "csrf": "forged" * 8})
    assert forged.status_code == 403 and _public(engine) == (False, False)
    opened = c.post(f"/coordinator/plans/{SOSH5}/public", data={"public": "1", "csrf": c.cookies["nok_csrf"]},
                    follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/plans/{SOSH5}"
    assert _public(engine) == (True, False)
    dashboard = c.get(f"/plans/{SOSH5}").text
    assert f"http://127.0.0.1:8470/open/plans/{SOSH5}" in dashboard and "Страница хода выполнения открыта" in dashboard
    assert ">Закрыть</button>" in dashboard
    assert client(schools).get(PLAN_URLS[0]).status_code == 200
    closed = c.post(f"/coordinator/plans/{SOSH5}/public", data={"public": "0", "csrf": c.cookies["nok_csrf"]})
    assert closed.status_code == 200 and _public(engine) == (False, False)
    assert client(schools).get(PLAN_URLS[0]).status_code == 404
    bad = c.post(f"/coordinator/plans/{SOSH5}/public", data={"public": "yes", "csrf": c.cookies["nok_csrf"]})
    assert bad.status_code == 422 and _public(engine) == (False, False)


def test_the_campaign_switch_is_the_owners_and_returns_to_the_page_it_came_from(engine, schools):
    c = sign_in(schools)
    url = f"/coordinator/campaigns/{CAMPAIGN}/public"
    assert c.post(url, data={"public": "1"}).status_code == 403 and _public(engine) == (False, False)
    went = c.post(url, data={"public": "1", "csrf": c.cookies["nok_csrf"], "back": "/campaigns/nok-2024"},
                  follow_redirects=False)
    assert (went.status_code, went.headers["location"]) == (303, "/campaigns/nok-2024")
    assert _public(engine) == (False, True)
    assert client(schools).get(f"/open/plans/{SOSH7}").status_code == 200  # its plans are open with it
    away = c.post(url, data={"public": "0", "csrf": c.cookies["nok_csrf"], "back": "//evil.example/x"},
                  follow_redirects=False)
    assert away.headers["location"] == f"/coordinator/campaigns/{CAMPAIGN}" and _public(engine) == (False, False)


def test_another_coordinator_and_a_stranger_cannot_switch(engine, schools):
    other = sign_in(schools, login="other")
    for url in (f"/coordinator/plans/{SOSH5}/public", f"/coordinator/campaigns/{CAMPAIGN}/public",
                "/coordinator/plans/no-such/public"):
        refused = other.post(url, data={"public": "1", "csrf": other.cookies["nok_csrf"]})
        assert refused.status_code == 404 and "Страница не найдена" in refused.text, url
    stranger = client(schools)
    stranger.get("/login")
    anonymous = stranger.post(f"/coordinator/plans/{SOSH5}/public",
                              data={"public": "1", "csrf": stranger.cookies["nok_csrf"]}, follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login")
    assert _public(engine) == (False, False)


@pytest.mark.slow
def test_the_public_pages_look_right_on_a_phone_and_a_desktop(sqlite_template, tmp_path, app_of, browser):
    from nok_workflow.store.db import connect

    path = tmp_path / "nok.db"
    shutil.copyfile(sqlite_template, path)
    engine = connect(f"sqlite:///{path}")
    two_schools(engine, tmp_path, public_campaign=True)
    c = client(app_of(engine, now=AT))
    origin = "http://127.0.0.1:8470"

    def serve(route):
        answer = c.get(route.request.url.removeprefix(origin))
        route.fulfill(status=answer.status_code, body=answer.content,
                      headers={k: v for k, v in answer.headers.items() if k not in ("content-length", "content-encoding")})

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {"public-plan": f"/open/plans/{SOSH5}", "public-campaign": f"/open/campaigns/{CAMPAIGN}"}
    for width, label in ((375, "phone"), (1280, "desktop")):
        for name, url in pages.items():
            page = browser.new_page(viewport={"width": width, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m, seen=problems: seen.append(m.text) if m.type == "error" else None)
            page.route(f"{origin}/**", serve)
            page.goto(origin + url)
            shot = ARTIFACTS / f"{name}-{label}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert problems == [], (name, problems)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            assert page.get_by_role("heading", level=1).count() == 1
            page.close()
            shutil.copyfile(shot, SCREENSHOTS / shot.name)
    engine.dispose()
