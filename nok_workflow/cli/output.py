"""Consoles shared by the commands: results to stdout, problems to stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

# emoji=False: positions like ":100:" in "plan.yaml:100:9:" must not become emoji.
console = Console(highlight=False, emoji=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def print_json(data: Any) -> None:
    # Plain print: Rich would wrap long lines and break the JSON for other programs.
    print(json.dumps(data, ensure_ascii=False, indent=2))
