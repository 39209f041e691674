"""Issue 23's acceptance walk: a real `nok serve` on an empty store and a real Chromium; the
coordinator uses nothing but the browser. They create their account, load their list of 30
schools (Excel) into the directory, upload their Word plan (a group of schools and two people
without addresses), apply the draft, fill in the two addresses; the day's run then sends the
first digests, and a school's link opens its page.

Screenshots go to tests/artifacts/ (not kept in git)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import re
import subprocess
import sys

import pytest

from tests.support.paths import ROOT
from tests.support.plan_documents import SCHOOLS, schools_xlsx, word_plan
from tests.support.serve import free_port, kill_group, serve_in

pytestmark = pytest.mark.slow  # Chromium against a real `nok serve`

ARTIFACTS = ROOT / "tests" / "artifacts"
NOW = "2024-10-01T12:00+03:00"  # noon in Moscow, the plan's zone: past its reminder hour
PASSWORD = "Пароль-координатора-23"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "ru-RU"}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "locale": "ru-RU"}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"year-{name}.png"), full_page=True, scale="css")


def test_the_coordinators_year_from_an_empty_store_in_the_browser(browser, tmp_path):
    from playwright.sync_api import expect

    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NOK_HOME": str(home), "NOK_BASE_URL": url, "NOK_NOW": NOW,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    for name in ("PREFECT_API_URL", "NOK_DATABASE_URL", "NOK_SMTP_HOST"):
        env.pop(name, None)
    proc = serve_in(env, port, tmp_path, startup=90)
    documents = tmp_path / "мои документы"
    documents.mkdir()
    schools = schools_xlsx(documents / "школы района.xlsx")
    plan = documents / "plan-nok-2024.docx"
    plan.write_bytes(word_plan())
    try:
        desk = browser.new_context(**DESKTOP)
        desk.set_default_timeout(30_000)
        d = desk.new_page()

        # 1. The account, from the server's own browser, once.
        d.goto(url)
        form = d.locator("form.fr-account")
        form.locator("input[name=login]").fill("uo")
        form.get_by_label("Имя").fill("Управление образования")
        form.get_by_label("Электронная почта").fill("uo@example.org")
        form.locator("input[name=password]").fill(PASSWORD)
        form.get_by_label("Пароль ещё раз").fill(PASSWORD)
        d.get_by_role("button", name="Создать и войти").click()
        expect(d.get_by_role("heading", name="Загрузить план")).to_be_visible()
        shot(d, "1-account")

        # 2. The list of schools into the directory: preview, then apply.
        d.goto(f"{url}/directory")
        d.get_by_label("Файл списка").set_input_files(str(schools))
        d.get_by_role("button", name="Проверить список").click()
        expect(d.get_by_role("heading", name="Что изменит список «школы района.xlsx»")).to_be_visible()
        shot(d, "2-list-preview")
        d.get_by_role("button", name="Применить").click()
        expect(d.get_by_role("status")).to_contain_text(f"новых записей {SCHOOLS}")

        # 3. The Word plan: a draft, reviewed, applied.
        d.goto(url)
        d.get_by_label("Файл плана: YAML или документ").set_input_files(str(plan))
        d.get_by_role("button", name="Проверить файл").click()
        expect(d).to_have_url(re.compile(r"/drafts/"))
        expect(d.get_by_role("heading", name=re.compile("Размещение информации о НОКО"))).to_be_visible()
        shot(d, "3-draft")
        d.get_by_role("button", name="Применить…").click()
        d.get_by_role("button", name="Применить", exact=True).click()
        expect(d).to_have_url(f"{url}/plans/plan-nok-2024")
        shot(d, "4-plan")

        # 4. The two people without an address get one.
        d.goto(f"{url}/directory/missing")
        for name, address in (("Методист Иванова И.П.", "ivanova@example.org"),
                              ("Специалист Петров П.П.", "petrov@example.org")):
            d.get_by_label(f"Адрес почты: {name}").fill(address)
            d.get_by_role("row").filter(has_text=name).get_by_role("button", name="Сохранить").click()
            expect(d.get_by_label(f"Адрес почты: {name}")).to_have_count(0)
        shot(d, "5-addresses")

        # 5. The day's run (the server's schedule; here asked for at once) sends the digests.
        swept = subprocess.run([sys.executable, "-m", "nok_workflow.cli", "sweep"], env=env, capture_output=True,
                               text=True, timeout=300, cwd=ROOT)
        assert swept.returncode == 0, swept.stdout + swept.stderr
        mails = {}
        for path in sorted((home / "outbox").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            mails[email.utils.parseaddr(message["To"])[1]] = message.get_body(preferencelist=("plain",)).get_content()
        assert {f"school{n}@example.org" for n in range(1, SCHOOLS + 1)} <= set(mails), (swept.stdout, sorted(mails))
        assert {"ivanova@example.org", "petrov@example.org"} <= set(mails)
        digest = mails["school7@example.org"]
        assert "Размещение информации о НОКО" in digest
        link = re.search(r"(http://127\.0\.0\.1:\d+/u/\S+)", digest).group(1)

        phone = browser.new_context(**PHONE)
        p = phone.new_page()
        p.goto(link)
        expect(p.get_by_role("heading", level=1)).to_contain_text("Средняя школа № 7")
        expect(p.get_by_text(re.compile("Размещение информации о НОКО")).first).to_be_visible()
        shot(p, "6-school-link")
    finally:
        kill_group(proc)
