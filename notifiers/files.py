"""Messages as .eml files under NOK_HOME/outbox/<day>/: nothing lost, no server needed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from notifiers.base import Message, Outcome, Record


class FileNotifier:
    def __init__(self, directory: Path, sender: str = "nok-workflow <nok@localhost>") -> None:
        self.directory = directory
        self.sender = sender

    async def deliver(self, messages: list[Message], record: Record) -> None:
        for index, message in enumerate(messages):
            if not await record(index, self._write(message)):
                return

    def _write(self, message: Message) -> Outcome:
        stem = re.sub(r"[^A-Za-z0-9@._-]", "_", message.message_id.strip("<>"))
        path = self.directory / f"{stem}.eml"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(message.as_bytes(self.sender))
            os.replace(tmp, path)
        except OSError as exc:
            return Outcome.retry(f"не удалось записать {path}: {exc.strerror or exc}")
        return Outcome.ok(f"записано: {path}")
