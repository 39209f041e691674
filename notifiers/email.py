"""Email over SMTP with aiosmtplib: a few connections, each reused across its share of the
batch; timeouts; the server's answer kept for every message.

4xx answers are temporary (retried later with backoff); 5xx answers and refused addresses
are permanent; no answer at all (refused connection, timeout) says the server is unreachable,
which the dispatcher counts towards stopping the run rather than against the message.
"""

from __future__ import annotations

import asyncio
import ssl
from email.utils import parseaddr

import aiosmtplib

from notifiers.base import Message, Outcome, Record


class EmailNotifier:
    def __init__(self, *, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, tls: bool = False,
                 ca_file: str | None = None, timeout: float = 30.0, connections: int = 4) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.tls, self.timeout = starttls, tls, timeout
        self.connections = max(1, connections)
        self.tls_context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    @classmethod
    def from_settings(cls, settings) -> EmailNotifier:  # noqa: ANN001
        return cls(host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from,
                   username=settings.smtp_user, password=settings.smtp_password,
                   starttls=settings.smtp_starttls, tls=settings.smtp_tls,
                   ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
                   timeout=settings.smtp_timeout, connections=settings.smtp_connections)

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(hostname=self.host, port=self.port, username=self.username,
                               password=self.password, use_tls=self.tls, start_tls=self.starttls,
                               tls_context=self.tls_context, timeout=self.timeout)

    async def deliver(self, messages: list[Message], record: Record) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(messages)):
            queue.put_nowait(index)
        stop = asyncio.Event()
        await asyncio.gather(*[self._worker(queue, messages, record, stop)
                               for _ in range(min(self.connections, len(messages)))])

    async def _worker(self, queue: asyncio.Queue[int], messages: list[Message], record: Record,
                      stop: asyncio.Event) -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while not stop.is_set() and not queue.empty():
                index = queue.get_nowait()
                if client is None or not client.is_connected:
                    client = self._client()
                    try:
                        await client.connect()
                    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                        client = None
                        outcome = Outcome.unreachable(f"нет соединения с {self.host}:{self.port}: "
                                                      f"{type(exc).__name__} {exc}".strip())
                    else:
                        outcome = await self._send(client, messages[index])
                else:
                    outcome = await self._send(client, messages[index])
                if not outcome.reached and client is not None:
                    client.close()  # a connection that timed out is not reused
                    client = None
                # The answer is recorded before this connection sends anything else.
                if not await record(index, outcome):
                    stop.set()
        finally:
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (TimeoutError, aiosmtplib.SMTPException, OSError):
                    client.close()

    async def _send(self, client: aiosmtplib.SMTP, message: Message) -> Outcome:
        if "@" not in parseaddr(message.to_address)[1]:
            return Outcome.fail(f"недопустимый адрес «{message.to_address}»")
        try:
            errors, response = await client.sendmail(
                parseaddr(self.sender)[1], [message.to_address], message.as_bytes(self.sender))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return Outcome.retry(text) if all(400 <= c < 500 for c in codes) else Outcome.fail(text)
        except aiosmtplib.SMTPResponseException as exc:
            text = f"{exc.code} {exc.message}"
            return Outcome.retry(text) if 400 <= exc.code < 500 else Outcome.fail(text)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            return Outcome.unreachable(f"{type(exc).__name__}: {exc}")
        if errors:
            return Outcome.fail("; ".join(f"{a}: {r.code} {r.message}" for a, r in errors.items()))
        return Outcome.ok(response)
