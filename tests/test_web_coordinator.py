"""The coordinator's pages, signed in: home, dashboard, plan page, review, waivers, plan
upload, audit trail; sign-in by password and by a mailed link; `nok user …`."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from nok_workflow.services.commands import accounts, evidence, plans
from nok_workflow.services.read import health
from nok_workflow.services.jobs import plan_run
from nok_workflow.store.db import connect
from nok_workflow.store.models import AuditEvent, Evidence, Mail, Obligation, Outbox, Plan, Review
from nok_workflow.web import signin
from tests.support.paths import ROOT
from tests.support.plans import MINIMAL_PLAN
from tests.support.web import MOMENT, ORENBURG, PASSWORD, PLAN, client, orenburg, sign_in

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


LIMITED = ("ip:testclient", "login:uo", "login:otdel", "link:uo")


@pytest.fixture(autouse=True)
def fresh_sign_in_limits():
    # The limiter is the process's: failures count per client address (every TestClient is
    # «testclient») and per login, across tests.
    signin.limits.succeeded(*LIMITED)
    yield
    signin.limits.succeeded(*LIMITED)


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'nok.db'}")
    yield engine
    engine.dispose()






def submit(app, engine, item: str = "II.1", by: str = "operator", name: str = "Анкеты родителей.pdf") -> Evidence:
    return evidence.submit(engine, app.state.ctx.settings.evidence_dir, plan_id=PLAN, item=item, by=by, now=MOMENT,
                           upload=evidence.Upload(PDF, name), comment="Сводная таблица по школам")


def upload(c: TestClient, text: str, name: str = "plan.yaml"):
    return c.post("/plans/upload", data={"csrf": c.cookies["nok_csrf"]},
                  files={"file": (name, text.encode("utf-8"), "application/x-yaml")})


# --- signing in -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", f"/plans/{PLAN}", f"/plans/{PLAN}/items", f"/plans/{PLAN}/review",
                                  f"/plans/{PLAN}/audit", f"/plans/{PLAN}/evidence/1/file"])
def test_pages_without_signing_in_redirect_to_the_sign_in_page(sqlite_engine, app_of, path):
    orenburg(sqlite_engine, swept=False)
    response = client(app_of(sqlite_engine)).get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_a_form_posted_without_signing_in_changes_nothing(sqlite_engine, app_of):
    orenburg(sqlite_engine, swept=False)
    c = client(app_of(sqlite_engine))
    c.get("/login")
    response = c.post(f"/plans/{PLAN}/waive", data={"csrf": c.cookies["nok_csrf"], "item": "I.1", "reason": "x"},
                      follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    with Session(sqlite_engine) as session:
        assert session.exec(select(Obligation).where(Obligation.state == "waived")).all() == []


def test_the_sixth_wrong_password_is_refused_with_429(sqlite_engine, app_of):
    orenburg(sqlite_engine, swept=False)
    c = client(app_of(sqlite_engine))
    c.get("/login")
    for _ in range(5):
        wrong = c.post("/login", data={"login": "uo", "password": "wrong password!", "csrf": c.cookies["nok_csrf"]})
        assert wrong.status_code == 401 and "Неверный логин или пароль" in wrong.text
    sixth = c.post("/login", data={"login": "uo", "password": PASSWORD, "csrf": c.cookies["nok_csrf"]})
    assert sixth.status_code == 429 and "Слишком много попыток входа" in sixth.text  # even the right one


def test_an_expired_session_goes_back_to_the_sign_in_page(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    app = app_of(sqlite_engine)
    c = sign_in(app)
    assert c.get(f"/plans/{PLAN}").status_code == 200
    hours = app.state.ctx.settings.session_hours
    app.state.ctx.now_override = (MOMENT + dt.timedelta(hours=hours, minutes=1)).isoformat()
    response = c.get(f"/plans/{PLAN}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_a_one_time_login_link_comes_by_mail_and_works_once(sqlite_engine, app_of, tmp_path):
    orenburg(sqlite_engine, swept=False, email_="uo@orenburg.example.org")
    app = app_of(sqlite_engine)  # no NOK_SMTP_HOST: mail goes to .eml files
    c = client(app)
    c.get("/login")
    sent = c.post("/login/link", data={"login": "uo", "csrf": c.cookies["nok_csrf"]})
    assert sent.status_code == 200 and "ссылка для входа отправлена" in sent.text
    files = list((tmp_path / "home" / "outbox").rglob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "uo@orenburg.example.org"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:8470(/login/link/[A-Za-z0-9_-]+)", body).group(1)

    shown = c.get(link)  # a mail scanner opening the link does not use it up
    assert shown.status_code == 200 and f'action="{link}"' in shown.text
    used = c.post(link, data={"csrf": c.cookies["nok_csrf"]}, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/"
    assert "Мои планы" in c.get("/").text

    other = client(app)
    other.get("/login")
    again = other.post(link, data={"csrf": other.cookies["nok_csrf"]})
    assert again.status_code == 404 and "Ссылка для входа недействительна" in again.text


# --- home and dashboard ---------------------------------------------------------------------

def test_the_dashboard_shows_sections_and_the_late_lists_after_a_sweep(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    home = c.get("/")
    assert home.status_code == 200
    assert "План-график проведения независимой оценки" in home.text and f'href="/plans/{PLAN}"' in home.text
    assert "Просрочено и эскалировано: <b>2</b>" in home.text and "<progress" in home.text

    page = c.get(f"/plans/{PLAN}")
    assert page.status_code == 200
    text = page.text
    for section in ("Подготовка к проведению независимой оценки", "Проведение независимой оценки качества",
                    "Применение результатов независимой оценки"):
        assert section in text
    assert "эскалировано: 1" in text and "ещё не начато: 3" in text  # section II: three not started yet
    late = text.split("<h2>Эскалировано")[1].split("<h2>Просрочено")[0]
    assert "I.1" in late and "III.3" in late and "Общественный совет" in late and "Организация-оператор" in late
    assert "30.09.2024" in late and "2024-Q3" in late
    assert re.search(r'data-label="Уровень" class="num">2<', late)
    assert "6 <abbr" in late  # six working days late (the escalation counts working days)
    assert "Просроченных обязательств нет" in text and "Недоставленных писем нет" in text


def test_the_dashboard_follows_the_store_waivers_and_failed_mail(engine, app_of):
    orenburg(engine)
    app = app_of(engine)
    c = sign_in(app)
    assert '<b>2</b> эскалировано' in c.get(f"/plans/{PLAN}").text
    done = c.post(f"/plans/{PLAN}/waive", data={"csrf": c.cookies["nok_csrf"], "item": "I.1", "reason": "проведено"})
    assert done.status_code == 200 and "Обязательство снято: пункт I.1" in done.text
    assert "Обязательство снято" not in c.get(f"/plans/{PLAN}/items").text  # the notice is shown once
    assert app.state.calls == [(PLAN, MOMENT)]
    plan_run.steps(engine, PLAN, MOMENT)  # what the trigger asked for
    assert '<b>1</b> эскалировано' in c.get(f"/plans/{PLAN}").text

    # Mail failures write no audit event: the dashboard must notice them all the same.
    with Session(engine) as session:
        mail = Mail(address="sovet@orenburg-raion.example.org", name="Общественный совет", day=MOMENT.date(),
                    status="failed", attempts=5, next_attempt_at=MOMENT, created_at=MOMENT,
                    error="550 mailbox unavailable")
        session.add(mail)
        session.flush()
        session.add(Outbox(key="test:1", plan_id=PLAN, kind="reminder", recipient="sovet", day=MOMENT.date(),
                           created_at=MOMENT, status="sent", mail_id=mail.id))
        session.commit()
    health.save(engine, "smtp", "сервер mail.example.org не отвечает", MOMENT)
    text = c.get(f"/plans/{PLAN}").text
    assert "550 mailbox unavailable" in text and "sovet@orenburg-raion.example.org" in text
    assert "сервер mail.example.org не отвечает" in text


def test_the_dashboard_says_when_the_plans_scheduled_run_failed_until_one_goes_through(engine, app_of):
    orenburg(engine)
    c = sign_in(app_of(engine))
    assert "Плановый запуск" not in c.get(f"/plans/{PLAN}").text  # served from the cache next time
    problem = "проход плана не выполнен: RuntimeError: Failed to reach API at http://127.0.0.1:4200/api/"
    health.save_run(engine, PLAN, problem, MOMENT)
    text = c.get(f"/plans/{PLAN}").text
    assert f"Плановый запуск: {problem} (с " in text and 'role="alert"' in text
    health.save_run(engine, PLAN, problem, MOMENT + dt.timedelta(days=1))  # failed again: still since the first
    assert health.run_problems(engine) == [(PLAN, problem, MOMENT)]
    health.save_run(engine, PLAN, None, MOMENT + dt.timedelta(days=2))
    assert "Плановый запуск" not in c.get(f"/plans/{PLAN}").text and health.run_problems(engine) == []


def test_another_coordinators_plan_is_not_found(engine, app_of, write_plan):
    orenburg(engine)
    plans.load(engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)  # coordinator «otdel»
    app = app_of(engine)
    c = sign_in(app)
    assert "Тестовый план" not in c.get("/").text
    for path in ("/plans/test-plan", "/plans/test-plan/items", "/plans/test-plan/review", "/plans/test-plan/audit"):
        response = c.get(path)
        assert response.status_code == 404 and "Страница не найдена" in response.text, path
    waive = c.post("/plans/test-plan/waive", data={"csrf": c.cookies["nok_csrf"], "item": "1.1", "reason": "x"})
    assert waive.status_code == 404
    with Session(engine) as session:
        assert session.exec(select(Obligation).where(Obligation.state == "waived")).all() == []


def test_a_coordinator_without_plans_is_told_how_to_load_one(sqlite_engine, app_of):
    accounts.add(sqlite_engine, login="uo", name="УО", email=None, password=PASSWORD, now=MOMENT)
    text = sign_in(app_of(sqlite_engine)).get("/").text
    assert "Планов пока нет" in text and "сам документ плана (Word, PDF, Excel, OpenDocument, текст)" in text
    assert 'action="/plans/upload"' in text and 'enctype="multipart/form-data"' in text


# --- the plan page and waivers --------------------------------------------------------------

def test_the_plan_page_shows_each_item_as_understood_with_its_obligations(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    text = c.get(f"/plans/{PLAN}/items").text
    item = text.split('id="item-I.1"')[1].split("</article>")[0]
    assert "Заседания общественного совета №1" in item
    assert "«3 квартал 2024 г.» → в период, 2024-Q3: 01.07.2024 – 30.09.2024" in item
    assert "Общественный совет" in item and "Протокол об утверждении перечня организаций" in item
    assert "эскалировано, уровень 2" in item and 'name="reason"' in item  # listed, with a waive form
    several = text.split('id="item-III.3"')[1].split("</article>")[0]
    assert "2024-Q3: 17.09.2024 – 30.09.2024" in several and "2024-Q4: 01.10.2024 – 31.12.2024" in several


def test_a_big_item_lists_its_obligations_page_by_page_and_waives_one(engine, app_of, write_plan):
    orgs = "\n".join(f"  - id: school-{i:02d}\n    name: Школа № {i}\n    group: oo\n    email: s{i}@example.org"
                     for i in range(1, 31))
    text = MINIMAL_PLAN.replace("sections:", f"groups:\n  - id: oo\n    name: Школы\norganisations:\n{orgs}\nsections:")
    text = text.replace("        deadline: Январь\n        owners: [otdel]",
                        "        deadline: Ежеквартально\n        owners: ['@oo']")
    plans.load(engine, write_plan(text), actor=None, now=MOMENT)
    accounts.add(engine, login="otdel", name="Отдел", email=None, password=PASSWORD, now=MOMENT)
    c = sign_in(app_of(engine), "otdel")
    overview = c.get("/plans/test-plan/items").text
    assert "Все обязательства пункта (120)" in overview and "<td data-label=\"Период\">" not in overview
    first = c.get("/plans/test-plan/items", params={"item": "1.1"}).text
    assert first.count('<td data-label="Период">') == 100 and "страница 1 из 2" in first
    second = c.get("/plans/test-plan/items", params={"item": "1.1", "page": 2}).text
    assert second.count('<td data-label="Период">') == 20 and "Школа № 30" in second
    assert c.get("/plans/test-plan/items", params={"item": "9.9"}).status_code == 404

    done = c.post("/plans/test-plan/waive", data={"csrf": c.cookies["nok_csrf"], "item": "1.1", "period": "2024-Q2",
                                                  "org": "school-07", "reason": "школа закрыта", "back": "item"},
                  follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/plans/test-plan/items?item=1.1"
    with Session(engine) as session:
        waived = session.exec(select(Obligation).where(Obligation.state == "waived")).all()
        assert [(o.period, o.org_id, o.state_reason) for o in waived] == [("2024-Q2", "school-07", "школа закрыта")]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "obligation.waive")).one()
        assert event.actor == "otdel"


def test_a_waiver_without_a_reason_is_refused_and_nothing_changes(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    response = c.post(f"/plans/{PLAN}/waive", data={"csrf": c.cookies["nok_csrf"], "item": "I.1", "reason": "  "})
    assert response.status_code == 422 and "Укажите причину снятия" in response.text
    unknown = c.post(f"/plans/{PLAN}/waive", data={"csrf": c.cookies["nok_csrf"], "item": "IX.9", "reason": "x"})
    assert unknown.status_code == 422 and "нет пункта «IX.9»" in unknown.text
    no_token = c.post(f"/plans/{PLAN}/waive", data={"item": "I.1", "reason": "x"})
    assert no_token.status_code == 403
    with Session(sqlite_engine) as session:
        assert session.exec(select(Obligation).where(Obligation.state == "waived")).all() == []


# --- review ---------------------------------------------------------------------------------

def test_reject_with_a_reason_then_accept_the_corrected_document(engine, app_of, tmp_path):
    orenburg(engine, tmp_path)
    app = app_of(engine)
    first = submit(app, engine)
    c = sign_in(app)
    page = c.get(f"/plans/{PLAN}/review").text
    assert "Ждут проверки: 1" in page and "Анкеты родителей.pdf" in page and "Организация-оператор" in page
    assert "Сводная таблица по школам" in page and f"/plans/{PLAN}/evidence/{first.id}/file" in page

    rejected = c.post(f"/plans/{PLAN}/evidence/{first.id}/review",
                      data={"csrf": c.cookies["nok_csrf"], "decision": "reject", "reason": "нет подписи"},
                      follow_redirects=False)
    assert rejected.status_code == 303 and rejected.headers["location"] == f"/plans/{PLAN}/review"
    assert app.state.calls == [(PLAN, MOMENT)]
    after = c.get(f"/plans/{PLAN}/review").text
    assert f"Документ №{first.id} отклонён" in after and "Причина: нет подписи" in after
    assert "Ждут проверки: 0" in after

    second = submit(app, engine, name="Анкеты (с подписью).pdf")
    with Session(engine) as session:
        assert session.get(Evidence, first.id).review == "rejected"
        row = session.exec(select(Review).where(Review.evidence_id == first.id)).one()
        assert (row.decision, row.reason, row.reviewed_by) == ("rejected", "нет подписи", "uo")
        assert session.get(Obligation, second.obligation_id).completed_on is None  # review required
    accepted = c.post(f"/plans/{PLAN}/evidence/{second.id}/review",
                      data={"csrf": c.cookies["nok_csrf"], "decision": "accept"})
    assert accepted.status_code == 200 and f"Документ №{second.id} принят" in accepted.text
    with Session(engine) as session:
        assert session.get(Evidence, second.id).review == "accepted"
        assert session.get(Obligation, second.obligation_id).completed_on == MOMENT.date()


def test_reject_without_a_reason_is_refused_and_nothing_is_written(sqlite_engine, app_of, tmp_path):
    orenburg(sqlite_engine, tmp_path)
    app = app_of(sqlite_engine)
    ev = submit(app, sqlite_engine)
    c = sign_in(app)
    with Session(sqlite_engine) as session:
        events = len(session.exec(select(AuditEvent)).all())
    response = c.post(f"/plans/{PLAN}/evidence/{ev.id}/review",
                      data={"csrf": c.cookies["nok_csrf"], "decision": "reject", "reason": " "})
    assert response.status_code == 422 and "Укажите причину отклонения" in response.text
    with Session(sqlite_engine) as session:
        assert session.get(Evidence, ev.id).review == "pending"
        assert session.exec(select(Review)).all() == []
        assert len(session.exec(select(AuditEvent)).all()) == events
    assert app.state.calls == []


def test_the_file_is_downloaded_only_as_an_attachment_of_its_checked_type(sqlite_engine, app_of, write_plan):
    orenburg(sqlite_engine)
    plans.load(sqlite_engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)
    app = app_of(sqlite_engine)
    ev = submit(app, sqlite_engine, name="Анкеты <родителей>.pdf")
    other = evidence.submit(sqlite_engine, app.state.ctx.settings.evidence_dir, plan_id="test-plan", item="1.1",
                            by="otdel", now=MOMENT, upload=evidence.Upload(PDF, "чужой.pdf"),
                            document_date=dt.date(2024, 1, 15))
    c = sign_in(app)
    response = c.get(f"/plans/{PLAN}/evidence/{ev.id}/file")
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''%D0%90%D0%BD%D0%BA%D0%B5%D1%82%D1%8B%20%3C%D1%80%D0%BE%D0%B4%D0%B8%D1%82"
        "%D0%B5%D0%BB%D0%B5%D0%B9%3E.pdf")
    assert response.headers["x-content-type-options"] == "nosniff"
    # Another plan's evidence through this plan's address, or a made-up number: not found.
    for path in (f"/plans/{PLAN}/evidence/{other.id}/file", f"/plans/{PLAN}/evidence/999/file",
                 f"/plans/{PLAN}/evidence/x/file", f"/plans/test-plan/evidence/{other.id}/file"):
        assert c.get(path).status_code == 404, path
    assert c.post(f"/plans/{PLAN}/evidence/{other.id}/review",
                  data={"csrf": c.cookies["nok_csrf"], "decision": "accept"}).status_code == 404


# --- plan upload ----------------------------------------------------------------------------

def test_an_upload_with_a_yaml_error_names_the_line_and_loads_nothing(sqlite_engine, app_of, tmp_path):
    orenburg(sqlite_engine, swept=False)
    c = sign_in(app_of(sqlite_engine))
    lines = ORENBURG.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("timezone:"))
    lines[number - 1] = "timezone: Europe/Atlantis\n"
    response = upload(c, "".join(lines))
    assert response.status_code == 422 and "План не принят" in response.text
    assert f"строка {number}, столбец" in response.text
    broken = upload(c, "id: [unclosed\n")
    assert broken.status_code == 422 and re.search(r"строка \d+, столбец \d+: ", broken.text)
    not_utf8 = c.post("/plans/upload", data={"csrf": c.cookies["nok_csrf"]},
                      files={"file": ("x.yaml", "титул: план".encode("cp1251"))})
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
    with Session(sqlite_engine) as session:
        assert session.get(Plan, PLAN).current_version == 1
    assert not (tmp_path / "home" / "staged-plans").exists() or not any((tmp_path / "home" / "staged-plans").iterdir())


def test_an_amendment_is_shown_as_a_diff_then_applied_as_version_2(engine, app_of, tmp_path):
    orenburg(engine)
    app = app_of(engine)
    c = sign_in(app)
    amended = ORENBURG.read_text(encoding="utf-8").replace("deadline: Декабрь 2024 г.", "deadline: Ноябрь 2024 г.")
    shown = upload(c, amended, name="../../оренбург-2.yaml")
    assert shown.status_code == 200, shown.text
    assert "Изменения относительно версии 1" in shown.text and "изменён пункт II.4: срок" in shown.text
    assert "перенесено сроков: 4" in shown.text
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', shown.text).group(1)
    staged = tmp_path / "home" / "staged-plans" / f"{sha}.yaml"
    assert staged.read_text(encoding="utf-8") == amended
    with Session(engine) as session:
        assert session.get(Plan, PLAN).current_version == 1  # nothing applied yet

    applied = c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], "sha256": sha, "base": "1",
                                                  "name": "оренбург-2.yaml"}, follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"] == f"/plans/{PLAN}"
    assert "Загружена версия 2" in c.get(f"/plans/{PLAN}").text
    assert app.state.calls == [(PLAN, MOMENT)] and not staged.exists()
    with Session(engine) as session:
        assert session.get(Plan, PLAN).current_version == 2
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "plan.amend")).one()
        assert event.actor == "uo"
    again = c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], "sha256": sha, "base": "1"})
    assert again.status_code == 404 and "Загрузите файл ещё раз" in again.text
    assert c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], "sha256": "../../x"}).status_code == 404

    same = upload(c, amended)
    assert same.status_code == 200 and "Изменений нет" in same.text and 'name="sha256"' not in same.text


def test_a_plan_changed_between_the_diff_and_apply_is_not_overwritten(sqlite_engine, app_of, tmp_path):
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    text = ORENBURG.read_text(encoding="utf-8")
    shown = upload(c, text.replace("deadline: Декабрь 2024 г.", "deadline: Ноябрь 2024 г."))
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', shown.text).group(1)
    meanwhile = tmp_path / "meanwhile.yaml"  # another load, from the command line
    meanwhile.write_text(text.replace("Заседания общественного совета №1", "Заседание совета №1"), encoding="utf-8")
    plans.load(sqlite_engine, meanwhile, actor="uo", now=MOMENT)
    response = c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], "sha256": sha, "base": "1"})
    assert response.status_code == 409 and "План изменился после проверки" in response.text
    with Session(sqlite_engine) as session:
        assert session.get(Plan, PLAN).current_version == 2  # the other load stands, nothing over it
    assert not (tmp_path / "home" / "staged-plans" / f"{sha}.yaml").exists()


def test_a_new_plan_can_be_uploaded_by_its_coordinator(sqlite_engine, app_of):
    accounts.add(sqlite_engine, login="otdel", name="Отдел", email=None, password=PASSWORD, now=MOMENT)
    c = sign_in(app_of(sqlite_engine), "otdel")
    shown = upload(c, MINIMAL_PLAN)
    assert "Новый план" in shown.text and "добавлено пунктов: 1 (1.1)" in shown.text
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', shown.text).group(1)
    c.post("/plans/upload/apply", data={"csrf": c.cookies["nok_csrf"], "sha256": sha, "base": "0"})
    assert "Тестовый план" in c.get("/").text


def test_a_plan_file_of_another_coordinator_is_refused(sqlite_engine, app_of, tmp_path, write_plan):
    orenburg(sqlite_engine, swept=False)
    c = sign_in(app_of(sqlite_engine))
    response = upload(c, MINIMAL_PLAN)  # coordinator: otdel
    assert response.status_code == 403 and "Это план другого координатора" in response.text
    assert "«otdel»" in response.text
    # A file naming «uo» cannot take over a plan another coordinator keeps in the store.
    plans.load(sqlite_engine, write_plan(MINIMAL_PLAN), actor=None, now=MOMENT)
    taken = MINIMAL_PLAN.replace("coordinator: otdel", "coordinator: uo").replace(
        "directory:\n", "directory:\n  - id: uo\n    name: УО\n")
    hijack = upload(c, taken)
    assert hijack.status_code == 403 and "уже загружен" in hijack.text
    with Session(sqlite_engine) as session:
        assert session.get(Plan, "test-plan").coordinator == "otdel"
    assert not (tmp_path / "home" / "staged-plans").exists() or not any((tmp_path / "home" / "staged-plans").iterdir())


# --- audit and escaping ---------------------------------------------------------------------

def test_the_audit_page_lists_the_plans_events_newest_first(sqlite_engine, app_of):
    orenburg(sqlite_engine)
    c = sign_in(app_of(sqlite_engine))
    c.post(f"/plans/{PLAN}/waive", data={"csrf": c.cookies["nok_csrf"], "item": "II.5", "reason": "не нужно"})
    text = c.get(f"/plans/{PLAN}/audit").text
    assert "обязательство снято" in text and "причина: не нужно" in text and "пункт II.5 (2024-12)" in text
    assert "план загружен" in text and "состояния пересчитаны" in text and "проход по плану" in text
    assert "Управление образования" in text  # the actor by name
    assert text.index("обязательство снято") < text.index("план загружен")
    assert "08.10.2024 09:00" in text  # in the plan's time zone


def test_a_title_with_markup_is_escaped_on_every_page(sqlite_engine, app_of, write_plan):
    evil = "<script>alert(1)</script> План"
    text = MINIMAL_PLAN.replace("title: Тестовый план", f"title: '{evil}'").replace(
        "title: Формирование перечня", "title: '<img src=x onerror=alert(2)>'")
    plans.load(sqlite_engine, write_plan(text), actor=None, now=MOMENT)
    accounts.add(sqlite_engine, login="otdel", name="<b>Отдел</b>", email=None, password=PASSWORD, now=MOMENT)
    c = sign_in(app_of(sqlite_engine), "otdel")
    paths = ("/", "/plans/test-plan", "/plans/test-plan/items", "/plans/test-plan/items?item=1.1",
             "/plans/test-plan/review", "/plans/test-plan/audit")
    pages = [c.get(p).text for p in paths]
    pages.append(upload(c, text.replace("Январь", "Февраль")).text)
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>Отдел" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; План" in page


# --- nok user -------------------------------------------------------------------------------

def nok(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NOK_HOME": str(home)}
    env.pop("NOK_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "nok_workflow.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, cwd=ROOT)


@pytest.mark.slow
def test_nok_user_add_password_and_list(tmp_path):
    home = tmp_path / "cli"
    added = nok("user", "add", "uo", "--name", "Управление образования", "--email", "uo@example.org",
                "--password-stdin", home=home, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "учётная запись «uo» создана; вход по паролю или по ссылке из письма" in added.stdout
    link_only = nok("user", "add", "sovet", "--name", "Совет", "--email", "s@example.org", "--no-password", home=home)
    assert link_only.returncode == 0, link_only.stderr
    short = nok("user", "add", "op", "--name", "Оператор", "--password-stdin", home=home, stdin="short\n")
    assert short.returncode == 1 and "пароль короче 10 символов" in short.stderr and "Traceback" not in short.stderr
    piped = nok("user", "add", "op", "--name", "Оператор", home=home, stdin="")
    assert piped.returncode == 1 and "--password-stdin" in piped.stderr
    twice = nok("user", "add", "uo", "--name", "x", "--no-password", "--email", "x@example.org", home=home)
    assert twice.returncode == 1 and "уже есть" in twice.stderr

    changed = nok("user", "password", "uo", "--password-stdin", home=home, stdin="another long password\n")
    assert changed.returncode == 0 and "пароль «uo» изменён" in changed.stdout
    listed = nok("user", "list", home=home)
    assert listed.returncode == 0
    assert "uo" in listed.stdout and "пароль, ссылка" in listed.stdout and "sovet" in listed.stdout
    assert "ссылка" in listed.stdout.split("sovet")[1].splitlines()[0]

    engine = connect(f"sqlite:///{home / 'nok.db'}")
    try:
        # The product's argon2 parameters (the test process itself hashes with cheaper ones).
        stored = {a.login: a.password_hash for a in accounts.accounts(engine)}
        assert stored["uo"].startswith("$argon2id$v=19$m=65536,t=3,p=4$") and stored["sovet"] is None
        assert accounts.verify_password(engine, "uo", "another long password").login == "uo"
        assert accounts.verify_password(engine, "uo", PASSWORD) is None
        assert accounts.verify_password(engine, "sovet", "") is None
    finally:
        engine.dispose()
