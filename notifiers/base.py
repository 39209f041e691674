"""The small interface every notifier implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from collections.abc import Awaitable, Callable
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. text/calendar
    data: bytes


@dataclass(frozen=True)
class Message:
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str
    message_id: str  # stable per mail: a resend after a crash can be recognised
    attachments: tuple[Attachment, ...] = field(default=())

    def as_bytes(self, sender: str) -> bytes:
        """The message as sent. Built with the compat32 MIME classes: the modern policy's
        header folding of Cyrillic text cost ~9 ms a message, most of a digest's sending."""
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(self.text, "plain", "utf-8"))
        body.attach(MIMEText(self.html, "html", "utf-8"))
        if self.attachments:
            email = MIMEMultipart("mixed")
            email.attach(body)
            for a in self.attachments:
                part = MIMEApplication(a.data, _subtype=a.content_type.split("/", 1)[1])
                part.replace_header("Content-Type", f"{a.content_type}; charset=utf-8")
                part.add_header("Content-Disposition", "attachment", filename=a.filename)
                email.attach(part)
        else:
            email = body
        email["From"] = sender
        email["To"] = formataddr((str(Header(self.to_name, "utf-8")), self.to_address))
        email["Subject"] = Header(self.subject, "utf-8")
        email["Message-ID"] = self.message_id
        email["Date"] = formatdate(localtime=False)
        return email.as_bytes()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    permanent: bool  # a failure not worth retrying (5xx, a bad address)
    response: str  # the server's answer, or why it failed
    reached: bool = True  # False: no answer at all (connection refused, timeout) — the server, not the message

    @classmethod
    def ok(cls, response: str) -> Outcome:
        return cls(True, False, response)

    @classmethod
    def retry(cls, response: str) -> Outcome:
        return cls(False, False, response)

    @classmethod
    def fail(cls, response: str) -> Outcome:
        return cls(False, True, response)

    @classmethod
    def unreachable(cls, response: str) -> Outcome:
        return cls(False, False, response, reached=False)


# Called with a message's index and outcome as soon as it is known; returns False to stop.
Record = Callable[[int, Outcome], Awaitable[bool]]


class Notifier(Protocol):
    async def deliver(self, messages: list[Message], record: Record) -> None:
        """Deliver the messages, awaiting ``record(index, outcome)`` for each before the same
        connection sends another: an answer is written down before the next message goes, so
        a crash re-sends at most one message per connection. When ``record`` returns False,
        no further message is started (those not started get no outcome). Never raises for a
        message's own failure."""
        ...
