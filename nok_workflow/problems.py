"""Problems found in a user's input, each pointing at a file, a line and a column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the problem concerns the whole file
    column: int  # 1-based
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        prefix = "" if self.severity == "error" else "предупреждение: "
        return f"{where}: {prefix}{self.message}"


class InputError(Exception):
    """A user's input cannot be used; ``problems`` say where and why (never a traceback)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
