"""The small interface every notifier implements."""

from __future__ import annotations

import base64
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from email.header import Header
from email.mime.application import MIMEApplication
from email.policy import compat32
from email.utils import formataddr, formatdate
from functools import lru_cache
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
    # A messenger's message: its parts, sent in order, the (label, url) button under the last,
    # and how many parts went out before (a resend after a crash starts after them).
    parts: tuple[str, ...] = field(default=())
    button: tuple[str, str] | None = None
    parts_done: int = 0
    # (sender, bytes) written ahead, e.g. by the process that rendered it; not part of what it says
    encoded: tuple[str, bytes] | None = field(default=None, compare=False, repr=False)

    def encode_ahead(self, sender: str) -> Message:
        """The same message with its bytes for `sender` already written."""
        return replace(self, encoded=(sender, self.as_bytes(sender)))

    def as_bytes(self, sender: str) -> bytes:
        """The message as sent: the bytes the compat32 MIME classes give (multipart/alternative
        of base64 UTF-8 text and HTML, in multipart/mixed with the attachments), written
        directly. The email package folded all ~20 headers of a digest again for every
        message — most of its encoding cost; here only From, To and Subject are folded, the
        constant part headers are literals. Bodies are base64, so a boundary never collides."""
        if self.encoded is not None and self.encoded[0] == sender:
            return self.encoded[1]
        alternative = _multipart("alternative", [_TEXT_HEAD + _base64(self.text), _HTML_HEAD + _base64(self.html)])
        if self.attachments:
            top = _multipart("mixed", [alternative[0] + b"\n" + alternative[1]]
                             + [_attachment_head(a.content_type, a.filename) + _base64(a.data)
                                for a in self.attachments])
        else:
            top = alternative
        headers = b"".join((top[0], _header("From", sender),
                            _header("To", formataddr((self.to_name, self.to_address), "utf-8")),
                            _subject(self.subject),
                            _header("Message-ID", self.message_id),
                            _header("Date", formatdate(localtime=False))))
        return headers + b"\n" + top[1]


_TEXT_HEAD = b'Content-Type: text/plain; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n'
_HTML_HEAD = b'Content-Type: text/html; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n'
_TOKEN_WIDTH = len(repr(sys.maxsize - 1))  # as email.generator numbers its boundaries


def _base64(data: str | bytes) -> bytes:
    """A body as MIMEText / MIMEApplication encode it: base64 in 76-character lines."""
    return base64.encodebytes(data.encode("utf-8") if isinstance(data, str) else data)


def _header(name: str, value: str) -> bytes:
    if value.isascii() and len(name) + 2 + len(value) <= 78 and "\n" not in value and "\r" not in value:
        return f"{name}: {value}\n".encode("ascii")  # what folding would leave as it is
    return compat32.fold_binary(name, value)


@lru_cache(maxsize=4096)  # a day's digests share a few hundred subjects
def _subject(subject: str) -> bytes:
    return compat32.fold_binary("Subject", Header(subject, "utf-8"))


@lru_cache(maxsize=8)
def _multipart_head(subtype: str) -> tuple[bytes, bytes]:
    """A multipart's own headers around its boundary's digits: every boundary has the same
    width, so the folding found once for a placeholder holds for all."""
    placeholder = "9" * _TOKEN_WIDTH
    head = (compat32.fold_binary("Content-Type", f'multipart/{subtype}; boundary="{"=" * 15}{placeholder}=="')
            + b"MIME-Version: 1.0\n")
    before, _, after = head.partition(placeholder.encode())
    return before, after


def _multipart(subtype: str, parts: list[bytes]) -> tuple[bytes, bytes]:
    """(headers, body) of a multipart with the given flattened parts."""
    token = random.randrange(sys.maxsize)  # as email.generator chooses it
    digits = b"%0*d" % (_TOKEN_WIDTH, token)
    before, after = _multipart_head(subtype)
    boundary = b"=" * 15 + digits + b"=="
    body = b"--" + boundary + b"\n" + (b"\n--" + boundary + b"\n").join(parts) + b"\n--" + boundary + b"--\n"
    return before + digits + after, body


@lru_cache(maxsize=64)
def _attachment_head(content_type: str, filename: str) -> bytes:
    """An attachment part's headers (they depend on its type and name only), from the MIME classes."""
    part = MIMEApplication(b"", _subtype=content_type.split("/", 1)[1])
    part.replace_header("Content-Type", f"{content_type}; charset=utf-8")
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return b"".join(compat32.fold_binary(name, value) for name, value in part.raw_items()) + b"\n"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    permanent: bool  # a failure not worth retrying (5xx, a bad address)
    response: str  # the server's answer, or why it failed
    reached: bool = True  # False: no answer at all (connection refused, timeout) — the server, not the message
    retry_after: float | None = None  # seconds the server asked to wait (a messenger's 429)
    blocked: bool = False  # the person blocked the bot (a messenger's 403): the channel is gone
    parts_done: int | None = None  # a messenger's message of parts: so many are delivered (progress, more to come)

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
