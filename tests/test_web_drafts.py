"""A plan document in the browser and over the API: upload → draft → review → corrections →
the diff → applied; refusals as pages (another's draft, expired, applied twice, a version
changed meanwhile, a file that is not a plan); one walk in Chromium at 375 and 1280 px."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from nok_workflow.services.commands import accounts, plans
from nok_workflow.services.read import drafts as review
from tests.support.paths import PLANS
from tests.support.plan_documents import CASES, build_docx
from tests.support.serve import free_port
from tests.support.web import MOMENT, ORENBURG, PASSWORD, PLAN, orenburg, sign_in

SHOTS = Path("/tmp/shots-drafts")


def _docx(tmp_path: Path) -> Path:
    return build_docx(PLANS / "orenburg-raion-2024.yaml", CASES["orenburg-raion-2024.yaml"][2],
                      tmp_path / f"{PLAN}.docx")


def _upload(c, path: Path, name: str | None = None, **data):
    return c.post("/plans/upload", data={"csrf": c.cookies["nok_csrf"], **data},
                  files={"file": (name or path.name, path.read_bytes())}, follow_redirects=False)


def _draft_id(response) -> str:
    assert response.status_code == 303, response.text
    m = re.fullmatch(r"/drafts/([\w-]+)", response.headers["location"])
    assert m, response.headers["location"]
    return m.group(1)


def test_a_word_plan_is_reviewed_corrected_and_applied_as_an_amendment(engine, app_of, tmp_path):
    orenburg(engine)
    app = app_of(engine)
    c = sign_in(app)
    draft_id = _draft_id(_upload(c, _docx(tmp_path)))
    page = c.get(f"/drafts/{draft_id}")
    assert page.status_code == 200
    assert "Новая редакция плана «orenburg-raion-2024» (сейчас действует версия 1)" in page.text
    assert "Строк: <b>11</b>" in page.text and page.text.count('name="csrf"') >= 4 * 11 + 1
    assert c.get("/").text.count(f'href="/drafts/{draft_id}"') == 1  # listed on the home page

    csrf = c.cookies["nok_csrf"]
    first = review.view(engine, draft_id, "uo", MOMENT).rows[0]
    fixed = c.post(f"/drafts/{draft_id}/rows/{first.key}", follow_redirects=False,
                   data={"csrf": csrf, "action": "deadline", "deadline": "до 20 декабря 2024 г."})
    assert fixed.status_code == 303 and fixed.headers["location"] == f"/drafts/{draft_id}#row-{first.key}"
    owners = c.post(f"/drafts/{draft_id}/rows/{first.key}", follow_redirects=False,
                    data={"csrf": csrf, "action": "owners", "owners": ["uo", "sovet"]})
    assert owners.status_code == 303
    after = c.get(f"/drafts/{draft_id}").text
    assert "до 20 декабря 2024 г." in after and "20.12.2024" in after and "исправлено" in after
    bad = c.post(f"/drafts/{draft_id}/rows/{first.key}", data={"csrf": csrf, "action": "owners"})
    assert bad.status_code == 422 and "Строка не изменена" in bad.text and "хотя бы одного" in bad.text
    no_csrf = c.post(f"/drafts/{draft_id}/rows/{first.key}", data={"action": "title", "title": "x"})
    assert no_csrf.status_code == 403

    shown = c.post(f"/drafts/{draft_id}/confirm", data={"csrf": csrf})
    assert shown.status_code == 200 and "Изменения относительно версии 1" in shown.text
    changed = re.search(rf"изменён пункт {re.escape(first.section.split()[0] + first.number)}: ([^\n]*)", shown.text)
    assert changed and "срок" in changed[1] and "ответственные" in changed[1], shown.text
    assert 'name="base" value="1"' in shown.text

    # Meanwhile the plan gets version 2: the confirmed diff is stale, nothing is written.
    changed = tmp_path / "v2.yaml"
    changed.write_text(ORENBURG.read_text(encoding="utf-8").replace(
        "title: Заседания общественного совета №1", "title: Заседание совета №1", 1), encoding="utf-8")
    plans.load(engine, changed, actor="uo", now=MOMENT)
    stale = c.post(f"/drafts/{draft_id}/apply", data={"csrf": csrf, "base": "1"})
    assert stale.status_code == 409 and "План изменился после проверки" in stale.text
    assert "Traceback" not in stale.text

    applied = c.post(f"/drafts/{draft_id}/apply", data={"csrf": csrf, "base": "2"}, follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"] == f"/plans/{PLAN}"
    assert c.get(f"/plans/{PLAN}").status_code == 200
    assert app.state.calls and app.state.calls[-1][0] == PLAN
    again = c.post(f"/drafts/{draft_id}/apply", data={"csrf": csrf, "base": "3"})
    assert again.status_code == 409 and "Черновик уже применён" in again.text and "версия 3" in again.text
    assert f'href="/drafts/{draft_id}"' not in c.get("/").text


def test_refusals_are_pages_in_russian(engine, app_of, tmp_path):
    orenburg(engine)
    accounts.add(engine, login="other", name="Другой координатор", email=None, password=PASSWORD, now=MOMENT)
    c = sign_in(app_of(engine))
    draft_id = _draft_id(_upload(c, _docx(tmp_path)))

    letter = tmp_path / "письмо.txt"
    letter.write_text("Уважаемые коллеги!\nПросим направить сведения до пятницы.\n", encoding="utf-8")
    refused = _upload(c, letter)
    assert refused.status_code == 422 and "не удалось прочитать как план" in refused.text
    assert "не найдена строка заголовков таблицы" in refused.text and "Traceback" not in refused.text
    year = _upload(c, letter, **{"year": "двадцать"})
    assert year.status_code == 422 and "год плана «двадцать» записан неверно" in year.text

    last = review.view(engine, draft_id, "uo", MOMENT).rows[-1]
    c.post(f"/drafts/{draft_id}/rows/{last.key}", data={"csrf": c.cookies["nok_csrf"], "action": "split",
                                                        "title": last.title, "second_title": "Ещё",
                                                        "second_number": last.number})
    blocked = c.get(f"/drafts/{draft_id}").text
    assert "Пока черновик нельзя применить" in blocked and "повторяется" in blocked
    assert re.search(r'<button type="submit" disabled>Применить…</button>', blocked)
    refused = c.post(f"/drafts/{draft_id}/confirm", data={"csrf": c.cookies["nok_csrf"]})
    assert refused.status_code == 422 and "Пока черновик нельзя применить" in refused.text

    stranger = sign_in(app_of(engine), login="other")
    for response in (stranger.get(f"/drafts/{draft_id}"),
                     stranger.post(f"/drafts/{draft_id}/apply", data={"csrf": stranger.cookies["nok_csrf"], "base": "1"})):
        assert response.status_code == 404 and "Черновик не найден" in response.text

    later = sign_in(app_of(engine, now="2024-10-15T09:00:01+05:00"))
    expired = later.get(f"/drafts/{draft_id}")
    assert expired.status_code == 410 and "Черновик устарел" in expired.text and "Загрузите документ ещё раз" in expired.text

    assert [d.id for d in review.open_drafts(engine, "uo", MOMENT)] == [draft_id]


def test_the_api_makes_reviews_corrects_and_applies_a_draft(engine, app_of, tmp_path):
    orenburg(engine)
    token = accounts.create_api_token(engine, name="скрипт", actor="uo", plan_id=None, by="uo", now=MOMENT)
    c = sign_in(app_of(engine))
    auth = {"Authorization": f"Bearer {token}"}
    document = _docx(tmp_path)
    made = c.post("/api/v1/drafts", headers=auth, files={"file": (document.name, document.read_bytes())})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["plan"] == PLAN and body["existing_version"] == 1 and len(body["rows"]) == 11
    key = body["rows"][0]["key"]
    edited = c.post(f"/api/v1/drafts/{body['id']}/rows/{key}", headers=auth,
                    json={"deadline": "до 20 декабря 2024 г.", "new_owner": {"name": "Методист", "kind": "person"}})
    assert edited.status_code == 200, edited.text
    row = next(r for r in edited.json()["rows"] if r["key"] == key)
    assert row["deadline"] == "до 20 декабря 2024 г." and row["dates"][-1].endswith("20.12.2024")
    assert [o["name"] for o in row["owners"]] == ["Методист"]
    assert c.get(f"/api/v1/drafts/{body['id']}", headers=auth).json()["rows"] == edited.json()["rows"]
    applied = c.post(f"/api/v1/drafts/{body['id']}/apply", headers=auth, json={})
    assert applied.status_code == 200 and applied.json()["version"] == 2 and applied.json()["applied"]
    again = c.post(f"/api/v1/drafts/{body['id']}/apply", headers=auth, json={})
    assert again.status_code == 409 and again.json()["error"] == "Черновик уже применён"
    assert c.get("/api/v1/drafts/nope", headers=auth).status_code == 404
    docs = c.get("/docs").text
    assert "/api/v1/drafts/{draft_id}/apply" in docs and "Черновик плана из документа" in docs


@pytest.mark.slow
def test_a_coordinator_walks_a_word_plan_to_the_plan_page_in_chromium(engine, app_of, browser, tmp_path):
    from playwright.sync_api import expect

    orenburg(engine)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = app_of(engine, base_url=origin)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    SHOTS.mkdir(parents=True, exist_ok=True)
    document = _docx(tmp_path)
    try:
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="ru-RU")
            page.set_default_timeout(20_000)
            page.goto(f"{origin}/login")
            page.get_by_role("textbox", name="Логин").fill("uo")
            page.get_by_label("Пароль").fill(PASSWORD)
            page.get_by_role("button", name="Войти").click()
            page.locator('input[type="file"]').set_input_files(str(document))
            page.get_by_role("button", name="Проверить файл").click()
            expect(page).to_have_url(re.compile(r"/drafts/[\w-]+$"))
            expect(page.get_by_role("heading", level=1)).to_contain_text("План-график")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(SHOTS / f"review-{width}.png"), full_page=True)

            row = page.locator("article.draft-row").first
            row.get_by_text("Исправить строку").click()
            row.get_by_label("Срок").fill("до 20 декабря 2024 г.")
            row.get_by_role("button", name="Сохранить срок").click()
            row = page.locator("article.draft-row", has_text="до 20 декабря 2024 г.")
            expect(row).to_contain_text("20.12.2024")
            row.get_by_text("Исправить строку").click()
            row.get_by_label("Название или имя").fill("Методический кабинет")
            row.get_by_role("button", name="Сохранить ответственных").click()
            row = page.locator("article.draft-row", has_text="до 20 декабря 2024 г.")
            expect(row).to_contain_text("Методический кабинет")
            row.get_by_text("Исправить строку").click()
            expect(row.get_by_role("button", name="Разделить")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            row.screenshot(path=str(SHOTS / f"row-form-{width}.png"))
            if width == 375:
                page.screenshot(path=str(SHOTS / f"corrected-{width}.png"), full_page=True)
                page.goto(f"{origin}/")  # the open draft is listed on the home page
                expect(page.locator(".coord-drafts").get_by_role("link")).to_contain_text("План-график")
                page.screenshot(path=str(SHOTS / f"home-{width}.png"), full_page=True)
                page.close()
                continue  # the phone's draft stays open; the desktop applies its own
            page.get_by_role("button", name="Применить…").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Изменения относительно версии 1")
            page.screenshot(path=str(SHOTS / f"confirm-{width}.png"), full_page=True)
            page.get_by_role("button", name="Применить", exact=True).click()
            expect(page).to_have_url(f"{origin}/plans/{PLAN}")
            expect(page.get_by_role("status")).to_contain_text("Загружена версия 2")
            page.goto(f"{origin}/plans/{PLAN}/items")
            expect(page.get_by_text("Методический кабинет").first).to_be_visible()
            page.screenshot(path=str(SHOTS / f"plan-{width}.png"), full_page=True)
            page.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
