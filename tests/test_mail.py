"""Reminders, digests and escalations by email, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import Session

from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.delivery import mail_queue
from nok_workflow.services.commands import plans
from nok_workflow.services.jobs import plan_run
from nok_workflow.services.commands.evidence import review, submit
from nok_workflow.services.delivery.outbox import retry, undeliverable
from nok_workflow.settings import Settings
from nok_workflow.store.models import Mail
from notifiers.email import EmailNotifier
from tests.support.mail import Handler, settings_for, subject
from tests.support.paths import PLANS, ROOT
from tests.support.plans import MINIMAL_PLAN
from tests.support.serve import free_port

ORENBURG = "orenburg-raion-2024"


def at(day: str, hour: int = 5) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def run_day(engine, settings: Settings, plan_id: str, day: str, hour: int = 5):
    now = at(day, hour)
    plan_run.steps(engine, plan_id, now)
    return dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)


def text_of(message) -> str:
    return part_of(message, "text/plain")


def html_of(message) -> str:
    return part_of(message, "text/html")


def part_of(message, content_type: str) -> str:
    return next(p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == content_type)


def flat(text: str) -> str:
    """Text with its line breaks undone, to find a phrase wrapped over lines."""
    return " ".join(text.split())


def by_address(messages) -> dict[str, email.message.Message]:
    return {email.utils.parseaddr(m["To"])[1]: m for m in messages}


def test_a_season_of_digests(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))

    # 17.09: the council and the operator have deadlines in 13 days; the department
    # only hears that the plan was loaded with its items.
    report = run_day(engine, settings, ORENBURG, "2024-09-17")
    assert (report.sent, report.retry, report.failed) == (3, 0, 0)
    mails = by_address(handler.messages)
    assert set(mails) == {"sovet@orenburg-raion.example.org", "operator@noko-operator.example.org",
                          "uo@orenburg-raion.example.org"}
    sovet = mails["sovet@orenburg-raion.example.org"]
    assert subject(sovet) == ("Напоминание: 1 пункт по плану orenburg-raion-2024, "
                              "ближайший срок 30 сентября 2024\u202fг.")
    body = text_of(sovet)
    assert "Здравствуйте, Общественный совет!" in body
    assert "Сводка на 17 сентября 2024\u202fг.: требуют внимания 2 пункта." in body
    assert "Пункт I.1: Заседания общественного совета №1" in body
    assert "Срок: 30 сентября 2024\u202fг. — осталось 13 дней" in body
    assert "Нужен документ: Протокол об утверждении перечня организаций" in body
    assert "Загрузить: https://nok.example.org/u/orenburg-raion-2024/sovet/" in body
    assert "План загружен, ваши пункты: новые пункты: I.1, I.2, II.4, II.5, III.1" in body
    ics = next(p for p in sovet.walk() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    assert b"DTSTART;VALUE=DATE:20240930" in ics
    # The same event as in the council's own calendar feed: same UID, same bytes.
    from icalendar import Calendar

    from nok_workflow.services.read.calendar_feed import Scope, build

    from nok_workflow.tokens import secret

    feed = build(engine, Scope(ORENBURG, "sovet"), base_url=settings.base_url, key=secret(settings.home))
    attached = {str(e["UID"]): e.to_ical() for e in Calendar.from_ical(ics).walk("VEVENT")}
    subscribed = {str(e["UID"]): e.to_ical() for e in Calendar.from_ical(feed.body).walk("VEVENT")}
    assert [uid.split("@")[0].rsplit("/", 1)[0] for uid in attached] == ["nok-orenburg-raion-2024/I.1"]
    assert attached.items() <= subscribed.items()
    assert subject(mails["uo@orenburg-raion.example.org"]) == \
        "Изменения в плане orenburg-raion-2024: проверьте свои пункты"
    assert "требует внимания 1 пункт." in text_of(mails["uo@orenburg-raion.example.org"])

    # 18.09: nothing new for anybody — no mail at all.
    handler.messages.clear()
    assert run_day(engine, settings, ORENBURG, "2024-09-18").sent == 0
    assert handler.messages == []

    # 01.10: I.1 and III.3 were due 30.09 — overdue, to their owners; a contract for I.2,
    # sent once its quarter opened (08:00, before the plan's hour), rejected.
    e = submit(engine, None, plan_id=ORENBURG, item="I.2", by="sovet", now=at("2024-10-01", 3),
               url="https://example.org/dogovor")
    review(engine, evidence_id=e.id, accept=False, reason="договор без подписи", by="uo", now=at("2024-10-01", 3))
    handler.messages.clear()
    run_day(engine, settings, ORENBURG, "2024-10-01")
    mails = by_address(handler.messages)
    assert subject(mails["sovet@orenburg-raion.example.org"]) == \
        "Просрочено: 1 пункт по плану orenburg-raion-2024 — загрузите документы как можно скорее"
    body = text_of(mails["sovet@orenburg-raion.example.org"])
    assert "Срок: 30 сентября 2024\u202fг. — просрочено на 1 день" in body
    assert "Документ отклонён" in body and "Причина: договор без подписи" in body

    # 08.10: six working days late — escalated to whom the owners answer to.
    handler.messages.clear()
    run_day(engine, settings, ORENBURG, "2024-10-08")
    mails = by_address(handler.messages)
    assert set(mails) == {"uo@orenburg-raion.example.org", "sovet@orenburg-raion.example.org"}
    assert subject(mails["uo@orenburg-raion.example.org"]) == \
        "Эскалация: просрочены документы по плану orenburg-raion-2024 — 1 пункт, нужны ваши меры"
    body = text_of(mails["uo@orenburg-raion.example.org"])
    assert "Эскалировано вам: исполнители не представили документы" in body
    # Whom to chase, and where: the owner from the plan's directory.
    assert "Исполнитель: Общественный совет <sovet@orenburg-raion.example.org>" in body
    assert "Исполнитель: Организация-оператор <operator@noko-operator.example.org>" in \
        text_of(mails["sovet@orenburg-raion.example.org"])


def test_an_owner_first_seen_at_level_two_gets_their_own_digest(engine, smtp, tmp_path):
    """A plan loaded a week after its deadline: the owner gets their digest with their upload
    link; the superior gets the escalation."""
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-10-08"))
    run_day(engine, settings, ORENBURG, "2024-10-08")
    mails = by_address(handler.messages)
    operator = mails["operator@noko-operator.example.org"]
    assert subject(operator).startswith("Просрочено: 1 пункт по плану orenburg-raion-2024")
    body = text_of(operator)
    assert "Пункт III.3" in body and "просрочено на 8 дней" in body
    assert "Загрузить: https://nok.example.org/u/orenburg-raion-2024/operator/" in body
    # The council: its own I.1 overdue, with its link, and the operator's III.3 escalated to it.
    sovet = text_of(mails["sovet@orenburg-raion.example.org"])
    assert subject(mails["sovet@orenburg-raion.example.org"]).startswith("Эскалация:")
    assert "Эскалировано вам: исполнители не представили документы" in sovet
    assert "Исполнитель: Организация-оператор <operator@noko-operator.example.org>" in sovet
    assert "Пункт I.1" in sovet and "Загрузить: https://nok.example.org/u/orenburg-raion-2024/sovet/" in sovet
    assert "Исполнитель: Общественный совет <sovet@orenburg-raion.example.org>" in \
        text_of(mails["uo@orenburg-raion.example.org"])


def test_at_most_one_mail_a_day(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    run_day(engine, settings, ORENBURG, "2024-09-17")
    first = len(handler.messages)
    # I.1: open now (a document for I.2 would be dated before its quarter opens — refused)
    e = submit(engine, None, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-09-17", 8),
               url="https://example.org/d")
    review(engine, evidence_id=e.id, accept=False, reason="не тот документ", by="uo", now=at("2024-09-17", 8))
    assert run_day(engine, settings, ORENBURG, "2024-09-17", 9).sent == 0  # waits for tomorrow's digest
    assert len(handler.messages) == first
    assert run_day(engine, settings, ORENBURG, "2024-09-18").sent == 1
    assert "Причина: не тот документ" in text_of(handler.messages[-1])
    assert subject(handler.messages[-1]) == \
        "Отклонён 1 документ по плану orenburg-raion-2024 — загрузите исправленный"


def test_temporary_failure_then_success(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    handler.script = ["451 4.3.0 Try again later"] * 3
    report = run_day(engine, settings, ORENBURG, "2024-09-17")
    assert (report.sent, report.retry) == (0, 3) and handler.messages == []
    # Not before the backoff (1 minute) …
    notifier = EmailNotifier.from_settings(settings)
    assert dispatch_service.dispatch(engine, notifier, settings, at("2024-09-17") + dt.timedelta(seconds=30)).sent == 0
    # … then 250.
    assert dispatch_service.dispatch(engine, notifier, settings, at("2024-09-17") + dt.timedelta(minutes=2)).sent == 3
    assert len(handler.messages) == 3
    with Session(engine) as session:
        assert {m.attempts for m in session.execute(select(Mail)).scalars()} == {2}


def test_permanent_failure_is_shown_and_can_be_retried(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    handler.refuse_rcpt = {"sovet@orenburg-raion.example.org"}
    report = run_day(engine, settings, ORENBURG, "2024-09-17")
    assert (report.sent, report.failed) == (2, 1)
    failed = undeliverable(engine)
    assert {f["recipient"] for f in failed} == {"sovet"}
    assert all("550 5.1.1 No such user here" in f["error"] for f in failed)
    handler.refuse_rcpt = set()
    assert retry(engine, None, at("2024-09-17", 6)) == 1
    assert dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings,
                                     at("2024-09-17", 6)).sent == 1
    assert undeliverable(engine) == []


def test_server_refusing_or_slow_means_retry(engine, smtp, tmp_path):
    handler, port = smtp
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    closed = settings_for(tmp_path, free_port())  # nothing listens there
    report = run_day(engine, closed, ORENBURG, "2024-09-17")
    assert (report.sent, report.retry) == (0, 3)
    assert all("нет соединения с 127.0.0.1" in line for line in report.errors)
    handler.delay = 3  # longer than the 2 s timeout
    report = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings_for(tmp_path, port)),
                                       settings_for(tmp_path, port), at("2024-09-17") + dt.timedelta(minutes=5))
    assert report.sent == 0 and report.retry == 3


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_with_a_self_signed_certificate(engine, tmp_path):
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
        untrusted = settings_for(tmp_path, controller.port, smtp_starttls=True)
        report = run_day(engine, untrusted, ORENBURG, "2024-09-17")
        assert report.sent == 0 and report.retry == 3  # certificate not trusted: nothing sent in clear
        trusted = settings_for(tmp_path, controller.port, smtp_starttls=True, smtp_ca_file=cert)
        report = dispatch_service.dispatch(engine, EmailNotifier.from_settings(trusted), trusted,
                                           at("2024-09-17") + dt.timedelta(minutes=5))
        assert report.sent == 3 and len(handler.messages) == 3
    finally:
        controller.stop()


def test_two_dispatchers_at_once_send_each_mail_once(engine, db_url, smtp, tmp_path):
    from nok_workflow.store.db import connect

    handler, port = smtp
    handler.delay = 0.2
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "yuzhno-sakhalinsk-2014-2016.yaml", actor=None, now=at("2014-09-01"))
    plan_run.steps(engine, "yuzhno-sakhalinsk-2014-2016", at("2014-10-03"))
    engines = [connect(db_url) for _ in range(2)]
    results, errors = [], []

    def work(e):
        try:
            results.append(dispatch_service.dispatch(e, EmailNotifier.from_settings(settings), settings,
                                                     at("2014-10-03")))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [m["Message-ID"] for m in handler.messages]
    assert len(ids) == len(set(ids)) == sum(r.sent for r in results) > 0
    with Session(engine) as session:
        assert {m.status for m in session.execute(select(Mail)).scalars()} == {"sent"}


CRASHING_DISPATCHER = """
import datetime as dt, sys
from nok_workflow.services.delivery.dispatch import dispatch
from nok_workflow.settings import Settings
from nok_workflow.store.db import connect
from notifiers.email import EmailNotifier
settings = Settings(smtp_host="127.0.0.1", smtp_port=int(sys.argv[1]), smtp_timeout=5, smtp_connections=1)
dispatch(connect(settings.url), EmailNotifier.from_settings(settings), settings,
         dt.datetime.fromisoformat(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_crash_between_the_answer_and_the_record_loses_nothing(tmp_path, smtp):
    """Documented behaviour: the mail is sent again once (same Message-ID), never lost."""
    handler, port = smtp
    home = tmp_path / ".nok"
    env = {**os.environ, "NOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("NOK_DATABASE_URL", None)
    settings = Settings(home=home)
    home.mkdir()
    from nok_workflow.store.db import connect

    engine = connect(settings.url)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    plan_run.steps(engine, ORENBURG, at("2024-09-17"))
    script = tmp_path / "dispatcher.py"
    script.write_text(CRASHING_DISPATCHER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(port), at("2024-09-17").isoformat()], env=env)
    handler.on_data = lambda: os.kill(proc.pid, signal.SIGKILL)  # dies right after the server has the mail
    proc.wait(timeout=60)
    handler.on_data = None
    assert proc.returncode == -signal.SIGKILL
    assert len(handler.messages) == 1
    with Session(engine) as session:
        assert session.execute(select(Mail.status).where(Mail.status == "sending")).scalars().all()
    # Another dispatcher, after the lease: everything goes out, the interrupted one again.
    later = at("2024-09-17") + mail_queue.LEASE + dt.timedelta(minutes=1)
    report = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings_for(tmp_path, port)),
                                       settings_for(tmp_path, port), later)
    assert report.sent == 3
    ids = [m["Message-ID"] for m in handler.messages]
    assert len(ids) == 4 and len(set(ids)) == 3  # one duplicate, recognisable by its Message-ID


def test_bad_recipients_and_templates_fail_their_row_only(engine, smtp, tmp_path, monkeypatch):
    handler, port = smtp
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN.replace("    email: otdel@example.org\n", "    email: otdel@example.org\n"
                                         "  - id: imc\n    name: МКУ «ИМЦ»\n")
                    .replace("owners: [otdel]", "owners: [otdel, imc]"), encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))
    report = run_day(engine, settings_for(tmp_path, port), "test-plan", "2024-01-20")
    assert report.sent == 1
    failed = undeliverable(engine)
    assert failed and all(f["error"] == "у «МКУ «ИМЦ»» нет адреса электронной почты" for f in failed)

    import notifiers.render as render

    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "digest.txt.j2").write_text("{{ no_such_variable }}", encoding="utf-8")
    (broken / "digest.html.j2").write_text("<p>{{ name }}</p>", encoding="utf-8")
    monkeypatch.setattr(render, "TEMPLATES", broken)
    render.environment.cache_clear()
    try:
        report = run_day(engine, settings_for(tmp_path, port), "test-plan", "2024-01-31")
    finally:
        render.environment.cache_clear()
    assert report.failed == 1
    assert report.errors == ["otdel@example.org: ошибка шаблона письма: 'no_such_variable' is undefined"]
    assert any(f["error"] == "ошибка шаблона письма: 'no_such_variable' is undefined" for f in undeliverable(engine))


def test_without_smtp_messages_become_eml_files(engine, tmp_path):
    from notifiers import from_settings

    settings = Settings(home=tmp_path / ".nok")
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    plan_run.steps(engine, ORENBURG, at("2024-09-17"))
    report = dispatch_service.dispatch(engine, from_settings(settings), settings, at("2024-09-17"))
    files = sorted((tmp_path / ".nok" / "outbox").glob("*.eml"))
    assert report.sent == 3 and len(files) == 3
    ids = {email.message_from_bytes(f.read_bytes())["Message-ID"] for f in files}
    # 128 random bits at the sender's domain: no other store ever sends the same one.
    assert len(ids) == 3 and all(re.fullmatch(r"<[0-9a-f]{32}@localhost>", i) for i in ids)


def test_a_recipient_removed_from_the_directory_fails_with_the_reason(engine, tmp_path):
    from notifiers import from_settings

    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_PLAN, encoding="utf-8")
    plans.load(engine, path, actor=None, now=at("2024-01-01"))
    plan_run.steps(engine, "test-plan", at("2024-01-20"))  # a reminder to otdel is queued
    from sqlalchemy import update

    from nok_workflow.store.models import Outbox

    with Session(engine) as session, session.begin():
        session.execute(update(Outbox).where(Outbox.kind == "reminder").values(recipient="gone"))
    settings = Settings(home=tmp_path / ".nok")
    dispatch_service.dispatch(engine, from_settings(settings), settings, at("2024-01-20"))
    assert [f["error"] for f in undeliverable(engine)] == ["получателя «gone» нет в справочнике плана"]


def test_digests_wait_for_the_plans_hour(engine, smtp, tmp_path):
    """A plan loaded at 07:00 local: its notice waits for 09:00 and goes out with the day's reminders."""
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    notifier = EmailNotifier.from_settings(settings)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17", 2))  # 07:00 +05
    assert dispatch_service.dispatch(engine, notifier, settings, at("2024-09-17", 2)).sent == 0
    plan_run.steps(engine, ORENBURG, at("2024-09-17", 4))  # 09:00 +05, the plan's hour
    assert dispatch_service.dispatch(engine, notifier, settings, at("2024-09-17", 4)).sent == 3
    sovet = by_address(handler.messages)["sovet@orenburg-raion.example.org"]
    body = text_of(sovet)
    assert "Скоро срок" in body and "Изменения в плане" in body  # one digest, both


# --- issue 10, item 11: mail text a person reads without stumbling ------------------------

YUZHNO = "yuzhno-sakhalinsk-2014-2016"
IMC = "imc-2024"
# A second, short-titled plan of the same district: the department (same address as in
# orenburg-raion-2024) owns 1.2; 1.1 is owned by the IMC, a methodologist without an address
# and each school of the group.
IMC_PLAN = """\
id: imc-2024
title: План ИМЦ на 2024 год
period: 2024
timezone: Asia/Yekaterinburg
coordinator: uo
directory:
  - id: uo
    name: Управление образования
    email: uo@orenburg-raion.example.org
  - id: imc
    name: МКУ «ИМЦ»
    email: imc@orenburg-raion.example.org
    escalates_to: uo
  - id: metodist
    name: Методист ИМЦ
    escalates_to: uo
groups:
  - id: schools
    name: Школы района
    escalates_to: uo
organisations:
  - id: sosh-1
    name: МБОУ «СОШ № 1»
    group: schools
    email: sosh1@orenburg-raion.example.org
sections:
  - number: "1."
    title: Анкетирование
    items:
      - number: "1"
        title: Анкетирование родителей
        deadline: До 30.09.2024
        owners: [imc, metodist, "@schools"]
        results: [Отчёт об анкетировании]
      - number: "2"
        title: Приказ о проведении анкетирования
        deadline: До 01.10.2024
        owners: [uo]
        results: [Приказ]
"""
ORENBURG_TITLE = ("План-график проведения независимой оценки качества образовательной деятельности организаций, "
                  "осуществляющих образовательную деятельность на территории муниципального образования "
                  "Оренбургский район в 2024 году")


def two_plans_day(engine, settings: Settings, day: str):
    now = at(day)
    for plan_id in (ORENBURG, IMC):
        plan_run.steps(engine, plan_id, now)
    return dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, now)


def test_counts_agree_with_their_verbs(engine, smtp, tmp_path):
    """«требует внимания 1 пункт», «требуют внимания 2 пункта», «требуют внимания 12 пунктов»."""
    handler, port = smtp
    plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-09-01"))
    run_day(engine, settings_for(tmp_path, port), YUZHNO, "2014-10-03")
    mails = by_address(handler.messages)
    intro = {address.split("@")[0]: text_of(m).split("\n")[2] for address, m in mails.items()}
    assert intro["sovet"] == "Сводка на 3 октября 2014\u202fг.: требует внимания 1 пункт."
    assert intro["administraciya"] == "Сводка на 3 октября 2014\u202fг.: требуют внимания 2 пункта."
    assert intro["sosh1"] == "Сводка на 3 октября 2014\u202fг.: требуют внимания 5 пунктов."
    assert intro["departament"] == "Сводка на 3 октября 2014\u202fг.: требуют внимания 12 пунктов."
    assert subject(mails["departament@yuzhno-sakhalinsk.example.org"]) == \
        f"Эскалация: просрочены документы по плану {YUZHNO} — 11 пунктов, нужны ваши меры"
    # The school's 1.3 was due 15.09 (the plan's first run is today): its own overdue item heads it.
    assert subject(mails["sosh1@yuzhno-sakhalinsk.example.org"]) == \
        f"Просрочено: 4 пункта по плану {YUZHNO} — загрузите документы как можно скорее"
    assert "требует внимания 1 пункт." in flat(html_of(mails["sovet@yuzhno-sakhalinsk.example.org"]))


def test_the_plan_title_once_per_plan_and_readable(engine, smtp, tmp_path):
    handler, port = smtp
    plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-09-01"))
    run_day(engine, settings_for(tmp_path, port), YUZHNO, "2014-10-03")
    departament = by_address(handler.messages)["departament@yuzhno-sakhalinsk.example.org"]
    title = ("ПЛАН мероприятий по формированию независимой системы оценки качества работы муниципальных "
             "образовательных организаций городского округа «Город Южно-Сахалинск»")
    text, html = text_of(departament), html_of(departament)
    assert text.count("* Пункт ") == 11 and text.count("* План загружен") == 1  # twelve entries …
    assert flat(text).count(title) == 1 and html.count(title) == 1  # … under the title said once
    assert f"Код плана: {YUZHNO}" in text  # the subject's name for the plan, tied to its title
    assert f"<h2 style=\"font-size: 1.15em; margin: 1.5em 0 0.2em\">{title}</h2>" in html
    # Plain text at 72 columns: long titles and documents wrap under their label; links stay whole.
    assert [line for line in text.splitlines() if len(line) > 72 and "https://" not in line] == []
    assert "  Исполнитель: МАОУ «Гимназия № 3»\n    <gimnaziya3@yuzhno-sakhalinsk.example.org>\n" in text
    assert "  Нужен документ: Обеспечение эффективного внедрения независимой системы\n    оценки" in text


def test_a_digest_of_two_plans(engine, smtp, tmp_path, write_plan):
    """One mail for the department, each plan's title once with its items under it, and
    subjects that name the plan: a short title as is, a long one by the plan's id."""
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    plans.load(engine, write_plan(IMC_PLAN), actor=None, now=at("2024-09-17"))

    # 17.09: the department's reminder in the IMC plan, and both plans' news, in one mail.
    two_plans_day(engine, settings, "2024-09-17")
    uo = [m for m in handler.messages if "uo@orenburg-raion.example.org" in m["To"]]
    assert len(uo) == 1
    assert subject(uo[0]) == ("Напоминание: 1 пункт по плану «План ИМЦ на 2024 год», ближайший срок "
                              "1 октября 2024\u202fг. (в сводке ещё план orenburg-raion-2024)")
    text = text_of(uo[0])
    assert "Сводка на 17 сентября 2024\u202fг.: требуют внимания 3 пункта в 2 планах." in text
    # The most urgent plan first, each item under its own plan's title.
    assert text.index("План ИМЦ на 2024 год\n====") < text.index("Пункт 1.2: Приказ о проведении анкетирования") \
        < text.index("новые пункты: 1.2") < text.index("План-график проведения") < text.index("новые пункты: III.2")
    assert flat(text).count(ORENBURG_TITLE) == 1 and text.count("План ИМЦ на 2024 год") == 1
    assert "Код плана: orenburg-raion-2024" in text and "Код плана: imc-2024" not in text
    imc = by_address(handler.messages)["imc@orenburg-raion.example.org"]
    assert subject(imc) == "Напоминание: 1 пункт по плану «План ИМЦ на 2024 год», ближайший срок " \
                           "30 сентября 2024\u202fг."

    # 08.10: escalations from both plans — still one mail, naming whom to chase and where.
    handler.messages.clear()
    two_plans_day(engine, settings, "2024-10-08")
    uo = [m for m in handler.messages if "uo@orenburg-raion.example.org" in m["To"]]
    assert len(uo) == 1
    assert subject(uo[0]) == "Эскалация: просрочены документы по 2 планам — 4 пункта, нужны ваши меры"
    text, html = text_of(uo[0]), html_of(uo[0])
    assert "требуют внимания 4 пункта в 2 планах." in text
    assert "Исполнитель: Общественный совет <sovet@orenburg-raion.example.org>" in text
    # Two owners of one item: both listed; one has no address in the directory, and says so.
    assert ("* Пункт 1.1: Анкетирование родителей\n"
            "  Срок: 30 сентября 2024\u202fг. — просрочено на 8 дней\n"
            "  Нужен документ: Отчёт об анкетировании\n"
            "  Исполнители:\n"
            "    МКУ «ИМЦ» <imc@orenburg-raion.example.org>\n"
            "    Методист ИМЦ (адрес почты не указан)\n\n") in text  # the group «@schools» is no owner here
    assert ("* Пункт 1.1: Анкетирование родителей (МБОУ «СОШ № 1»)\n"
            "  Срок: 30 сентября 2024\u202fг. — просрочено на 8 дней\n"
            "  Нужен документ: Отчёт об анкетировании\n"
            "  Исполнитель: МБОУ «СОШ № 1» <sosh1@orenburg-raion.example.org>\n\n") in text
    assert ('<br>Исполнители: МКУ «ИМЦ», <a href="mailto:imc@orenburg-raion.example.org">'
            'imc@orenburg-raion.example.org</a>; Методист ИМЦ (адрес почты не указан)') in html
    # The department's own overdue item names no «Исполнитель»: the reader is the owner.
    own = text[text.index("Пункт 1.2: Приказ"):]
    assert "Исполнител" not in own.split("\n\n")[0]


def test_rejections_agree_with_their_count(engine, smtp, tmp_path):
    handler, port = smtp
    settings = settings_for(tmp_path, port)
    plans.load(engine, PLANS / "orenburg-raion-2024.yaml", actor=None, now=at("2024-09-17"))
    run_day(engine, settings, ORENBURG, "2024-09-17")
    for attempt in (1, 2):  # a protocol refused, sent again the same day, refused again
        e = submit(engine, None, plan_id=ORENBURG, item="I.1", by="sovet", now=at("2024-09-17", 8),
                   url=f"https://example.org/protocol-{attempt}")
        review(engine, evidence_id=e.id, accept=False, reason="без подписи", by="uo", now=at("2024-09-17", 8))
    handler.messages.clear()
    run_day(engine, settings, ORENBURG, "2024-09-18")
    sovet = by_address(handler.messages)["sovet@orenburg-raion.example.org"]
    assert subject(sovet) == "Отклонены 2 документа по плану orenburg-raion-2024 — загрузите исправленные"
    assert text_of(sovet).count("Причина: без подписи") == 2


def test_subject_and_intro_wording_by_count():
    """CLDR plural rules past the counts a test plan reaches: 21 agrees like 1, 22 like 2, 111 like 5."""
    from nok_workflow.services.delivery.digest import Entry, digest_context

    day = dt.date(2024, 9, 17)

    def digest(n: int, plan_ids: tuple[str, ...] = ("p",), title: str = "План НОКО", kind: str = "reminder"):
        return digest_context("Отдел", day, [
            Entry(kind=kind, step=3, plan=title, plan_id=plan_ids[i % len(plan_ids)], key=f"1.{i}", title="Пункт",
                  due=day + dt.timedelta(days=3)) for i in range(n)])

    for n, verb, noun in ((1, "требует", "1 пункт"), (21, "требует", "21 пункт"), (22, "требуют", "22 пункта"),
                          (111, "требуют", "111 пунктов")):
        assert digest(n)["intro"] == f"Сводка на 17 сентября 2024\u202fг.: {verb} внимания {noun}."
    assert digest(21, kind="rejected")["subject"] == \
        "Отклонён 21 документ по плану «План НОКО» — загрузите исправленные"
    assert digest(5, kind="rejected")["subject"] == \
        "Отклонено 5 документов по плану «План НОКО» — загрузите исправленные"
    # Two plans with one title (this year's and next year's) are told apart by their ids.
    both = digest(2, plan_ids=("noko-2024", "noko-2025"))
    assert both["subject"] == "Напоминание: 2 пункта по 2 планам, ближайший срок 20 сентября 2024\u202fг."
    assert [p["code"] for p in both["plans"]] == ["noko-2024", "noko-2025"]
    assert digest(3, title="Я" * 61)["subject"] == "Напоминание: 3 пункта по плану p, ближайший срок 20 сентября " \
                                                     "2024\u202fг."
    assert digest(1, plan_ids=("a", "b"), kind="plan_changed")["subject"] == \
        "Изменения в плане «План НОКО»: проверьте свои пункты"
    assert digest(2, plan_ids=("a", "b"), kind="plan_changed")["subject"] == \
        "Изменения в 2 планах: проверьте свои пункты"


def test_what_the_mails_list_is_read_in_one_query(engine, tmp_path):
    """Escalations with their owners included: one statement for all claimed mails, not one per
    row; the calendar events of new deadlines add a few per plan, none per row."""
    from sqlalchemy import event

    from nok_workflow.services.delivery.letters import entries
    from nok_workflow.tokens import secret

    plans.load(engine, PLANS / f"{YUZHNO}.yaml", actor=None, now=at("2014-09-01"))
    plan_run.steps(engine, YUZHNO, at("2014-10-03"))
    mail_queue.assemble(engine, at("2014-10-03"))
    settings = Settings(home=tmp_path / ".nok")
    with Session(engine) as session:
        ids = list(session.execute(select(Mail.id)).scalars())
        statements: list[str] = []

        def count(conn, cursor, statement, *rest) -> None:  # noqa: ANN001
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            listed = entries(session, ids, settings, secret(settings.home))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    outbox_reads = [s for s in statements if "FROM outbox" in s]
    calendar_reads = [s for s in statements if "FROM outbox" not in s and s.lstrip().startswith("SELECT")]
    assert len(ids) == 6 and len(outbox_reads) == 1
    events = [e for found in listed.values() for e in found if e.event]
    assert len(events) >= 2 and len(calendar_reads) <= 9, calendar_reads  # one plan: a fixed handful
    escalated = [e for found in listed.values() for e in found if e.kind == "escalation" and not e.owner]
    assert {c.name for e in escalated for c in e.late_owners} == {"МАОУ «СОШ № 1»", "МАОУ «Гимназия № 3»",
                                                                   "МБДОУ «Детский сад № 12»"}
