"""A real SMTP server's handler (aiosmtpd) and the settings that send to it; the `smtp`
fixture in conftest.py starts one per test."""

from __future__ import annotations

import asyncio
import email
from email.header import decode_header, make_header
from pathlib import Path

from nok_workflow.settings import Settings


class Handler:
    """Collects messages; `script` gives an answer per DATA (default 250), `delay` slows it."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.script: list[str] = []
        self.delay = 0.0
        self.on_data = None
        self.refuse_rcpt: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.script.pop(0) if self.script else "250 2.0.0 Ok: queued"
        if answer.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content))
            if self.on_data:
                self.on_data()
        return answer


def settings_for(tmp_path: Path, port: int, **extra) -> Settings:
    return Settings(home=tmp_path / ".nok", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=2,
                    mail_from="НОК <nok@example.org>", base_url="https://nok.example.org", **extra)


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))
