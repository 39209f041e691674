"""Issue 11's acceptance test: a real `nok serve`, a real browser, the whole round trip.

The executor opens the upload link of their digest (a real .eml from the outbox) on a
phone, uploads a protocol; the coordinator signs in on a desktop and rejects it with a
reason; the executor sees why and uploads another; the coordinator accepts it; the plan's
run in `nok serve` (Prefect, asynchronous) marks the item done on the dashboard.

Debian's Chromium is driven by Playwright. Screenshots go to tests/artifacts/ (not kept
in git); the two final ones are copied to docs/screenshots/ as the examples users see.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_nok
from tests.support.paths import ROOT
from tests.support.serve import free_port, get, kill_group, serve_in

pytestmark = pytest.mark.slow  # Chromium against a real `nok serve`

ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PLAN = "orenburg-raion-2024"
NOW = "2024-10-08T09:00+05:00"  # the simulated moment the whole app lives at
# A week before: the day after I.1's deadline (30.09), when its owner (`sovet`) is told it
# is late, with their upload link. By NOW the item is escalated (level 2): that day's
# message about it goes to the owner's superior (`uo`) only, so the link the executor
# opens is the one from the earlier digest — as it would be in a store swept every day.
WEEK_BEFORE = "2024-10-01T09:00+05:00"
PASSWORD = "Пароль-для-проверки-42"
REASON = "Нет подписи председателя"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "ru-RU"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "ru-RU"}


def minimal_pdf(text: str) -> bytes:
    """A small but well-formed one-page PDF (correct xref offsets), as a scanner would make."""
    stream = f"BT /F1 18 Tf 40 780 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def nok(env: dict, *args: str, stdin: str | None = None) -> str:
    """A real `nok` command; it must succeed."""
    if stdin is None:
        result = run_nok(*args, env=env)
    else:
        result = subprocess.run([sys.executable, "-m", "nok_workflow.cli", *args], input=stdin,
                                capture_output=True, text=True, env={**env, "COLUMNS": "200"}, timeout=120)
    assert result.returncode == 0, f"nok {' '.join(args)}:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def read_mail(path: Path) -> tuple[email.message.EmailMessage, str]:
    """As a mail client reads it: the headers decoded, the plain-text part."""
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    return message, message.get_body(preferencelist=("plain",)).get_content()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, scale="css")  # CSS pixels: small files
    return path


def test_executor_uploads_coordinator_rejects_then_accepts_and_the_dashboard_follows(browser, tmp_path):
    from playwright.sync_api import expect

    started = time.monotonic()
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NOK_HOME": str(home), "NOK_BASE_URL": url, "NOK_NOW": NOW,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    for name in ("PREFECT_API_URL", "NOK_DATABASE_URL", "NOK_SMTP_HOST"):
        env.pop(name, None)

    # --- 1. the store, as an administrator prepares it -----------------------------------
    nok(env, "plan", "load", f"plan_definitions/{PLAN}.yaml", "--now", WEEK_BEFORE)
    nok(env, "sweep", "--now", WEEK_BEFORE)
    outbox = home / "outbox"
    week_before = set(outbox.glob("*.eml"))
    nok(env, "user", "add", "uo", "--name", "Управление образования", "--password-stdin", stdin=PASSWORD + "\n")
    assert "писем отправлено: 2" in nok(env, "sweep")
    today = set(outbox.glob("*.eml")) - week_before

    # --- 2. the digests, read as a mail client reads them --------------------------------
    mails = {path: read_mail(path) for path in week_before | today}
    to_sovet = {path: text for path, (message, text) in mails.items() if "sovet@" in message["To"]}
    # Today I.1 is escalated: its owner's superior is told, with the owner to chase.
    (uo_today,) = [text for path, (message, text) in mails.items() if path in today and "uo@" in message["To"]]
    assert "Эскалировано вам" in uo_today and "Пункт I.1:" in uo_today and "просрочено на 8 дней" in uo_today
    # The owner's link came a week ago, when I.1 became late.
    (linked,) = [text for path, text in to_sovet.items() if path in week_before and "Пункт I.1:" in text]
    assert "Просрочено" in linked and "Сводка на 1 октября 2024" in linked
    found = re.search(r"Загрузить: (http://127\.0\.0\.1:\d+/u/\S+)", linked)
    assert found, linked
    link = found.group(1)
    assert link.startswith(f"{url}/u/{PLAN}/sovet/")

    # --- 3. nok serve, on the port the links were made for --------------------------------
    proc = serve_in(env, port, home.parent)
    p = d = None
    try:
        phone = browser.new_context(**PHONE)
        desk = browser.new_context(**DESKTOP)
        for context in (phone, desk):
            context.set_default_timeout(20_000)
        p, d = phone.new_page(), desk.new_page()

        # The coordinator signs in; before anything is uploaded, I.1 is on the escalated list.
        d.goto(f"{url}/login")
        d.get_by_role("textbox", name="Логин").fill("uo")
        d.get_by_label("Пароль").fill(PASSWORD)
        d.get_by_role("button", name="Войти").click()
        expect(d.get_by_role("button", name="Выйти")).to_be_visible()  # signed in
        d.get_by_role("link", name=re.compile(r"^План-график проведения")).first.click()
        expect(d).to_have_url(f"{url}/plans/{PLAN}")
        escalated = d.locator("section", has=d.get_by_role("heading", name=re.compile(r"^Эскалировано")))
        expect(escalated.get_by_role("link", name="I.1", exact=True)).to_be_visible()
        shot(d, "dashboard-before")

        # The executor opens the link from the mail on a phone: I.1 is late.
        p.goto(link)
        expect(p.get_by_role("heading", level=1)).to_have_text("Общественный совет")
        late = p.locator("section", has=p.get_by_role("heading", name=re.compile(r"^Просрочено")))
        card = late.get_by_role("article").filter(has=p.get_by_role("heading", name=re.compile(r"^Пункт I\.1 ")))
        expect(card).to_have_count(1)
        expect(card.get_by_text("эскалировано", exact=True)).to_be_visible()
        expect(card.get_by_text("просрочено на 8 дней")).to_be_visible()

        first_pdf = tmp_path / "protokol-zasedaniya.pdf"
        first_pdf.write_bytes(minimal_pdf("Protokol No 1"))
        first = upload(p, card, first_pdf, "2024-09-25", "Протокол заседания №1, скан")
        ob = p.get_by_role("article").filter(has=p.get_by_role("heading", name=re.compile(r"^Пункт I\.1 ")))
        expect(ob.get_by_role("link", name=first_pdf.name)).to_be_visible()
        expect(ob.get_by_text("Комментарий: Протокол заседания №1, скан")).to_be_visible()
        shot(p, "executor-1-uploaded")

        # --- 4. the coordinator rejects it, with the reason -------------------------------
        d.get_by_role("link", name=re.compile(r"^Проверка")).click()
        expect(d).to_have_url(f"{url}/plans/{PLAN}/review")
        doc = d.get_by_role("article").filter(has_text=f"Документ №{first}")
        expect(doc.get_by_role("link", name=first_pdf.name)).to_be_visible()
        expect(doc.get_by_text("Протокол заседания №1, скан")).to_be_visible()
        doc.get_by_text("Отклонить…").click()
        doc.get_by_label("Причина (её получит исполнитель)").fill(REASON)
        doc.get_by_role("button", name="Отклонить", exact=True).click()
        expect(d.get_by_role("status")).to_contain_text(f"Документ №{first} отклонён.")
        decided = d.get_by_role("article").filter(has_text=f"Документ №{first}")
        expect(decided.get_by_text(f"Причина: {REASON}")).to_be_visible()
        expect(decided.get_by_text("отклонён", exact=True)).to_be_visible()
        shot(d, "review-rejected")

        # --- 5. the executor sees why, and uploads another --------------------------------
        p.reload()
        card = late.get_by_role("article").filter(has=p.get_by_role("heading", name=re.compile(r"^Пункт I\.1 ")))
        expect(card).to_have_count(1)  # late again
        expect(card.get_by_text(f"Причина отклонения: {REASON}")).to_be_visible()
        expect(card.get_by_text("отклонён", exact=True)).to_be_visible()
        second_pdf = tmp_path / "protokol-s-podpisyu.pdf"
        second_pdf.write_bytes(minimal_pdf("Protokol No 1, podpisan"))
        second = upload(p, card, second_pdf, "2024-09-27", "Протокол с подписью председателя")
        assert second != first
        expect(ob.get_by_role("link", name=second_pdf.name)).to_be_visible()
        expect(ob.get_by_text(f"Причина отклонения: {REASON}")).to_be_visible()  # the history stays
        executor_png = shot(p, "executor-2-uploaded-again")

        # --- 6. the coordinator accepts the new one ---------------------------------------
        d.goto(f"{url}/plans/{PLAN}/review")
        doc = d.get_by_role("article").filter(has_text=f"Документ №{second}")
        expect(doc.get_by_role("link", name=second_pdf.name)).to_be_visible()
        doc.get_by_role("button", name="Принять").click()
        expect(d.get_by_role("status")).to_contain_text(f"Документ №{second} принят.")
        expect(d.get_by_role("heading", name="Ждут проверки: 0")).to_be_visible()

        # --- 7. the plan's run in nok serve marks I.1 done; the dashboard follows ----------
        d.goto(f"{url}/plans/{PLAN}")
        section = d.get_by_role("row").filter(has=d.get_by_role("cell", name=re.compile(r"^I\. ")))
        deadline = time.monotonic() + 120
        while True:
            row_text = section.inner_text()
            listed = escalated.get_by_role("link", name="I.1", exact=True).count()
            if "выполнено: 1" in row_text and not listed:
                break
            assert time.monotonic() < deadline, f"I.1 not done on the dashboard after 120 s: {row_text!r}, " \
                                                f"health {get(f'{url}/health')}"
            time.sleep(2)
            d.reload()
        assert "1 из 2" in row_text and "эскалировано" not in row_text, row_text
        expect(escalated.get_by_role("link", name="III.3", exact=True)).to_be_visible()  # still late
        dashboard_png = shot(d, "dashboard-done")
        health = get(f"{url}/health")
        assert health["failures"] == 0 and health["last_run"].startswith(f"{PLAN}: Completed"), health
        phone.close()
        desk.close()
    except BaseException:
        out, err = proc.output()
        print(f"--- nok serve stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-6000:]}")
        for page, name in ((p, "failure-phone"), (d, "failure-desktop")):
            if page is not None:
                try:
                    print("screenshot:", shot(page, name))
                except Exception:  # noqa: BLE001 - the first failure is the one to see
                    pass
        raise
    finally:
        kill_group(proc)

    # --- 8. the store agrees ---------------------------------------------------------------
    with sqlite3.connect(home / "nok.db") as db:
        rows = db.execute(
            "select e.id, e.review, e.file_name, e.document_date, e.comment, r.decision, r.reason, r.reviewed_by "
            "from evidence e join obligation o on o.id = e.obligation_id join item i on i.id = o.item_id "
            "left join review r on r.evidence_id = e.id where i.plan_id = ? and i.key = 'I.1' order by e.id",
            (PLAN,)).fetchall()
        assert rows == [
            (first, "rejected", first_pdf.name, "2024-09-25", "Протокол заседания №1, скан", "rejected", REASON, "uo"),
            (second, "accepted", second_pdf.name, "2024-09-27", "Протокол с подписью председателя", "accepted", None,
             "uo"),
        ]
        (completed_on, by_evidence, status), = db.execute(
            "select o.completed_on, o.completed_by_evidence, o.status from obligation o "
            "join item i on i.id = o.item_id where i.plan_id = ? and i.key = 'I.1'", (PLAN,)).fetchall()
    assert (completed_on, by_evidence, status) == ("2024-09-27", second, "done")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executor_png, SCREENSHOTS / "executor-phone.png")
    shutil.copyfile(dashboard_png, SCREENSHOTS / "dashboard-desktop.png")
    print(f"e2e: {time.monotonic() - started:.1f} s")


def upload(page, card, pdf: Path, day: str, comment: str) -> int:
    """Fill the card's form as a person does and send it; the id of the accepted document."""
    from playwright.sync_api import expect

    file_input = card.get_by_label("Файл документа")
    if not file_input.is_visible():
        card.get_by_text(re.compile(r"^Загрузить (ещё один )?документ$")).click()
    file_input.set_input_files(str(pdf))
    card.get_by_label("Дата документа (подписания, публикации)").fill(day)
    card.get_by_label("Комментарий для координатора").fill(comment)
    card.get_by_role("button", name="Отправить документ").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("принят к учёту")
    expect(notice).to_contain_text(pdf.name)
    found = re.search(r"Документ №(\d+) принят к учёту", notice.inner_text())
    assert found, notice.inner_text()
    return int(found.group(1))
