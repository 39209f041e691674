"""Consoles shared by the commands: results to stdout, problems to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Piped or redirected, a table is read by a program or a wider screen: printed whole (Rich
# would otherwise squeeze it into 80 columns and cut ids and dates to «orenb…»).
_WHOLE = None if sys.stdout.isatty() else 100_000

# emoji=False: positions like ":100:" in "plan.yaml:100:9:" must not become emoji.
console = Console(highlight=False, emoji=False, soft_wrap=True, width=_WHOLE)
err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

# The words a person reads for the states the store keeps in English.
MAIL_STATES = {"pending": "ждёт отправки", "sending": "отправляется", "retry": "ждёт повтора",
               "sent": "отправлено", "failed": "не доставлено"}
REVIEW_STATES = {"pending": "не проверен", "accepted": "принят", "rejected": "отклонён"}
ROW_STATES = {"queued": "в очереди", "sent": "отправлено", "failed": "не доставлено"}
MESSAGE_KINDS = {"reminder": "напоминание", "escalation": "эскалация", "rejected": "документ отклонён",
                 "plan_changed": "изменение плана"}


def utc_moment(iso: str) -> str:
    """A stored moment as «ДД.ММ.ГГГГ ЧЧ:ММ UTC» (the store keeps UTC)."""
    return f"{iso[8:10]}.{iso[5:7]}.{iso[:4]} {iso[11:16]} UTC"


def print_json(data: Any) -> None:
    # Plain print: Rich would wrap long lines and break the JSON for other programs.
    print(json.dumps(data, ensure_ascii=False, indent=2))
