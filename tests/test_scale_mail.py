"""Digests at regional scale (issue 15): the same mail, written faster.

- `Message.as_bytes` writes directly the bytes the email package's MIME classes wrote;
- a day of many batches is rendered in a child process while this one sends: the messages
  are the ones rendered here, each sent once;
- a batch claimed ahead whose lease ran out before its turn is not sent by us.
"""

from __future__ import annotations

import datetime as dt
import email
import random
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from nok_workflow.services.delivery import dispatch as dispatch_service
from nok_workflow.services.delivery import mail_queue
from nok_workflow.settings import Settings
from nok_workflow.store.models import Mail
from notifiers import Attachment, Message
from notifiers.email import EmailNotifier
from tests.support.mail import Handler
from tests.support.region import DAY, region_store

pytestmark = pytest.mark.slow  # a region's mail through a real SMTP server


def mime_classes(message: Message, sender: str) -> bytes:
    """How the message was written before: the compat32 MIME classes of the email package."""
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(message.text, "plain", "utf-8"))
    body.attach(MIMEText(message.html, "html", "utf-8"))
    if message.attachments:
        whole = MIMEMultipart("mixed")
        whole.attach(body)
        for a in message.attachments:
            part = MIMEApplication(a.data, _subtype=a.content_type.split("/", 1)[1])
            part.replace_header("Content-Type", f"{a.content_type}; charset=utf-8")
            part.add_header("Content-Disposition", "attachment", filename=a.filename)
            whole.attach(part)
    else:
        whole = body
    whole["From"] = sender
    whole["To"] = formataddr((str(Header(message.to_name, "utf-8")), message.to_address))
    whole["Subject"] = Header(message.subject, "utf-8")
    whole["Message-ID"] = message.message_id
    whole["Date"] = "Tue, 24 Nov 2026 09:00:00 -0000"
    return whole.as_bytes()


def without_date(data: bytes) -> bytes:
    return b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"Date: "))


ODD = [
    ("school1@region.example.org", "МБОУ «СОШ № 1000» им. А. С. Пушкина", "Напоминание: 8 пунктов", "", ""),
    ("a@b.org", "Plain  Name, Jr.", "Subject " * 20, "Строка\n" * 300, "<p>" + "ж" * 5000 + "</p>"),
    ("x" * 70 + "@example.org", "", "Эскалация: просрочены документы по плану «" + "Я" * 120 + "» — 2000 пунктов",
     "a\r\nb\n\n.\n", "<b>—</b>"),
]


@pytest.mark.parametrize("sender", ["nok@example.org", "НОК <nok@example.org>", "nok-workflow <nok@localhost>"])
@pytest.mark.parametrize("attachments", [
    (),
    (Attachment("sroki.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),),
    (Attachment("Отчёт за IV квартал 2024 года.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document", bytes(range(256)) * 40),
     Attachment("a b.pdf", "application/pdf", b"")),
])
def test_as_bytes_is_byte_for_byte_what_the_mime_classes_wrote(sender, attachments):
    for i, (address, name, subject, text, html) in enumerate(ODD):
        message = Message(address, name, subject, text, html, f"<{i:032x}@example.org>", attachments)
        random.seed(i)  # the boundaries: both draw them as email.generator does
        ours = message.as_bytes(sender)
        random.seed(i)
        theirs = mime_classes(message, sender)
        assert without_date(ours) == without_date(theirs)
        assert b"\nDate: " in ours


def received(handler: Handler) -> dict[str, dict]:
    """Each message the server took, by Message-ID: what a reader sees of it."""
    found = {}
    for m in handler.messages:
        parts = [p for p in m.walk() if not p.is_multipart()]
        found[m["Message-ID"]] = {
            "to": m["To"], "subject": str(email.header.make_header(email.header.decode_header(m["Subject"]))),
            "parts": [(p.get_content_type(), p.get_filename(), p.get_payload(decode=True)) for p in parts]}
    return found


def test_a_day_rendered_in_a_child_process_sends_the_same_mail_once(engine, smtp, tmp_path, monkeypatch):  # noqa: F811
    handler, port = smtp
    mails = region_store(engine, tmp_path, schools=40)
    settings = Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=port, smtp_connections=3,
                        mail_from="nok@example.org", base_url="https://nok.example.org")
    # Small batches, so that a region of 40 schools is a day of several batches.
    monkeypatch.setattr(dispatch_service, "BATCH", 7)
    monkeypatch.setattr(dispatch_service, "FIRST_BATCH", 3)
    monkeypatch.setattr(dispatch_service, "PARALLEL_FROM", 10)
    parallel = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, DAY)
    assert parallel.sent == mails and not parallel.errors
    in_child = received(handler)
    assert len(in_child) == len(handler.messages) == mails  # each once
    assert sum(1 for m in in_child.values() for t, _, _ in m["parts"] if t == "text/calendar") >= 40

    # The same mails again, rendered in this process: the same messages.
    with Session(engine) as session:
        session.execute(update(Mail).values(status="pending", attempts=0, next_attempt_at=DAY))
        session.commit()
    handler.messages.clear()
    monkeypatch.setattr(dispatch_service, "PARALLEL_FROM", 10 ** 9)
    here = dispatch_service.dispatch(engine, EmailNotifier.from_settings(settings), settings, DAY)
    assert here.sent == mails
    assert received(handler) == in_child


def test_a_batch_claimed_ahead_is_not_sent_once_its_lease_is_anothers(engine):
    with Session(engine) as session:
        for i in range(3):
            session.add(Mail(address=f"s{i}@example.org", name=f"Школа {i}", day=DAY.date(), next_attempt_at=DAY,
                             created_at=DAY, message_id=f"<{i}@example.org>"))
        session.commit()
    token, ids = mail_queue.claim(engine, DAY)
    assert len(ids) == 3
    assert mail_queue.still_held(engine, token, ids, DAY) == set(ids)  # still ours: lease renewed
    # This dispatcher waited past its lease (renewed at DAY); another one took the mails.
    later = DAY + mail_queue.LEASE + dt.timedelta(seconds=1)
    other, taken = mail_queue.claim(engine, later)
    assert taken == ids and other != token
    assert mail_queue.still_held(engine, token, ids, later) == set()
    with Session(engine) as session:  # and renewing did not take them back
        assert set(session.execute(select(Mail.claim)).scalars()) == {other}
