"""Campaign pages: the list and «Новая кампания», the upload of many documents (several files or a
zip; each file → its draft or why not), the dashboard with its links, another coordinator's 404;
and one walk in Chromium (create → upload a zip of three with a bad file → apply two → the
dashboard lists both, sorted), screenshots at 375 and 1280 px."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from nok_workflow.services.commands import accounts, directory
from nok_workflow.services.jobs import plan_run
from tests.support.campaign_documents import school_form, school_name, school_plan, zip_of
from tests.support.serve import free_port
from tests.support.web import MOMENT, PASSWORD, sign_in

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WALK_NOW = dt.datetime(2024, 11, 8, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200


def _coordinators(engine) -> None:
    accounts.add(engine, login="uo", name="Управление образования", email=None, password=PASSWORD, now=MOMENT)
    accounts.add(engine, login="other", name="Другой координатор", email=None, password=PASSWORD, now=MOMENT)


def _create(c, title="НОК 2024", year="2024"):
    return c.post("/coordinator/campaigns", data={"csrf": c.cookies["nok_csrf"], "title": title, "year": year},
                  follow_redirects=False)


def test_campaign_pages_create_upload_and_refuse(engine, app_of):
    _coordinators(engine)
    app = app_of(engine)
    c = sign_in(app)
    assert 'href="/coordinator/campaigns"' in c.get("/").text
    listing = c.get("/coordinator/campaigns")
    assert listing.status_code == 200 and "Новая кампания" in listing.text and "Кампаний пока нет" in listing.text
    bad = _create(c, title=" ", year="2024")
    assert bad.status_code == 422 and "у кампании должно быть название" in bad.text
    made = _create(c)
    assert made.status_code == 303 and made.headers["location"] == "/coordinator/campaigns/nok-2024"
    page = c.get("/coordinator/campaigns/nok-2024")
    assert page.status_code == 200 and "НОК 2024" in page.text
    for link in ("/coordinator/campaigns/nok-2024/report.xlsx", "/coordinator/campaigns/nok-2024/report.docx",
                 'action="/coordinator/campaigns/nok-2024/upload"', 'action="/coordinator/campaigns/nok-2024/public"'):
        assert link in page.text
    assert "В кампании пока нет планов" in page.text

    csrf = c.cookies["nok_csrf"]
    archive = zip_of({"школа-1.docx": school_plan(1), "фото.jpg": JPEG, "вложенный.zip": zip_of({"a.txt": b"x"})})
    sent = c.post("/coordinator/campaigns/nok-2024/upload", data={"csrf": csrf},
                  files=[("files", ("планы.zip", archive, "application/zip")),
                         ("files", ("sosh-2.docx", school_plan(2), "application/octet-stream"))])
    assert sent.status_code == 200, sent.text
    assert "Черновиков: <b>2</b> из 4" in sent.text
    assert sent.text.count('href="/drafts/') == 2
    assert "планы.zip / фото.jpg" in sent.text and "изображение" in sent.text
    assert "вложенный архив" in sent.text and "Traceback" not in sent.text
    assert c.get("/coordinator/campaigns/nok-2024").text.count('href="/drafts/') == 2

    empty = c.post("/coordinator/campaigns/nok-2024/upload", data={"csrf": csrf},
                   files=[("files", ("", b"", "application/octet-stream"))])
    assert empty.status_code == 422 and "не выбрано ни одного файла" in empty.text
    no_csrf = c.post("/coordinator/campaigns/nok-2024/upload", files=[("files", ("a.docx", school_plan(1)))])
    assert no_csrf.status_code == 403

    renamed = c.post("/coordinator/campaigns/nok-2024/title", data={"csrf": csrf, "title": "НОК 2024 (школы)"},
                     follow_redirects=False)
    assert renamed.status_code == 303
    assert "<h1 class=\"coord-title\">НОК 2024 (школы)</h1>" in c.get("/coordinator/campaigns/nok-2024").text
    blank = c.post("/coordinator/campaigns/nok-2024/title", data={"csrf": csrf, "title": " "})
    assert "Название не изменено: у кампании должно быть название" in blank.text

    stranger = sign_in(app_of(engine), login="other")
    unknown = stranger.get("/coordinator/campaigns/nope")
    foreign = stranger.get("/coordinator/campaigns/nok-2024")
    assert foreign.status_code == unknown.status_code == 404 and foreign.text == unknown.text
    posted = stranger.post("/coordinator/campaigns/nok-2024/upload", data={"csrf": stranger.cookies["nok_csrf"]},
                           files=[("files", ("a.docx", school_plan(1)))])
    assert posted.status_code == 404
    assert "nok-2024" not in stranger.get("/coordinator/campaigns").text


@pytest.mark.slow
def test_a_coordinator_runs_a_campaign_in_chromium(engine, app_of, browser, tmp_path):
    from playwright.sync_api import expect

    _coordinators(engine)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = app_of(engine, base_url=origin, now=WALK_NOW.isoformat())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    archive = tmp_path / "планы школ.zip"
    for n in (1, 2):  # the coordinator's list of schools, loaded before the campaign
        directory.add(engine, "uo", directory.EntryFields(name=school_name(n)), by="uo", now=MOMENT, entry_id=f"sosh-{n}")
    archive.write_bytes(zip_of({"sosh-1.docx": school_form(1, 3), "sosh-2.xlsx": school_form(2, 2, excel=True),
                                "фото.jpg": JPEG}))
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ru-RU")
        page.set_default_timeout(20_000)
        page.goto(f"{origin}/login")
        page.get_by_role("textbox", name="Логин").fill("uo")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.get_by_role("link", name="Кампании оценки").click()
        page.get_by_label("Название").fill("НОК 2024")
        page.get_by_label("Год оценки").fill("2024")
        page.get_by_role("button", name="Создать кампанию").click()
        expect(page).to_have_url(f"{origin}/coordinator/campaigns/nok-2024")
        expect(page.get_by_role("status")).to_contain_text("Кампания «НОК 2024» создана")
        page.get_by_label("Документы или архив").set_input_files(str(archive))
        page.get_by_role("button", name="Загрузить и проверить").click()
        expect(page.get_by_role("status")).to_contain_text("Черновиков: 2 из 3")
        expect(page.locator("tr.upload-refused")).to_contain_text("фото.jpg")
        page.screenshot(path=str(SHOTS / "campaign-upload-1280.png"), full_page=True)
        for name in ("sosh-2.xlsx", "sosh-1.docx"):
            page.goto(f"{origin}/coordinator/campaigns/nok-2024")
            page.locator(".coord-drafts li", has_text=name).get_by_role("link").click()
            expect(page).to_have_url(re.compile(r"/drafts/[\w-]+$"))
            page.get_by_role("button", name="Применить…").click()
            page.get_by_role("button", name="Применить", exact=True).click()
            expect(page).to_have_url(f"{origin}/coordinator/campaigns/nok-2024")  # back where the next one waits
            expect(page.get_by_role("status")).to_contain_text("Загружена версия 1")
        for plan_id in ("nok-2024-sosh-1", "nok-2024-sosh-2"):  # the day's run, as `nok serve` makes it
            plan_run.steps(engine, plan_id, WALK_NOW)
        SHOTS.mkdir(parents=True, exist_ok=True)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{origin}/coordinator/campaigns/nok-2024")
            rows = page.locator("table.campaign-orgs tbody tr")
            expect(rows).to_have_count(2)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(SHOTS / f"campaign-dashboard-{width}.png"), full_page=True)
        rows = page.locator("table.campaign-orgs tbody tr")
        expect(rows.nth(0)).to_contain_text("СОШ № 1")  # two measures overdue: first
        expect(rows.nth(1)).to_contain_text("СОШ № 2")  # one
        expect(rows.nth(0).locator("td").nth(2)).to_have_text("2")
        expect(page.locator(".coord-drafts")).to_have_count(0)
        page.goto(f"{origin}/")  # the campaign's plans are on its page, not as cards of their own
        expect(page.locator(".coord-card")).to_have_count(0)
        expect(page.get_by_role("link", name="НОК 2024")).to_be_visible()
        page.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
