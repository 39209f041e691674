"""Mail to reserved addresses stays on this machine: `.invalid` (RFC 2606) is the demo
plan's domain, and such a message is written as an .eml file in the outbox folder even
when an SMTP server is configured — a demo never hands anything to a real server."""

from __future__ import annotations

from email.utils import parseaddr

from notifiers.base import Message, Notifier, Outcome, Record


def kept_local(address: str) -> bool:
    domain = parseaddr(address)[1].rpartition("@")[2].rstrip(".").lower()
    return domain == "invalid" or domain.endswith(".invalid")


class RoutingNotifier:
    """Splits a batch between the files (reserved addresses) and the server (the rest); each
    outcome reaches the caller under the message's index in the caller's batch."""

    def __init__(self, remote: Notifier, local: Notifier) -> None:
        self.remote, self.local = remote, local

    async def deliver(self, messages: list[Message], record: Record) -> None:
        local = [i for i, m in enumerate(messages) if kept_local(m.to_address)]
        remote = [i for i, m in enumerate(messages) if not kept_local(m.to_address)]
        stopped = False

        def mapped(indices: list[int]) -> Record:
            async def on_outcome(index: int, outcome: Outcome) -> bool:
                nonlocal stopped
                if not await record(indices[index], outcome):
                    stopped = True
                return not stopped
            return on_outcome

        # Files first, then the server: the files take no time, and the server's answers
        # then come in one run, as the dispatcher's «server silent» breaker counts them.
        if local:
            await self.local.deliver([messages[i] for i in local], mapped(local))
        if remote and not stopped:
            await self.remote.deliver([messages[i] for i in remote], mapped(remote))
