"""What every reader produces: the preamble and the table rows, each with its origin."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TAG = re.compile(r"<a\s[^>]*>(.*?)</a>|<[^>]{1,200}>", re.DOTALL | re.IGNORECASE)


@dataclass
class Row:
    cells: list[str]
    origin: str  # «строка 12» or «таблица 1, строка 5»: where a human finds it
    bold: bool = False


@dataclass
class RawDocument:
    source: str
    preamble: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def strip_markup(text: str) -> str:
    """Drop `<b>`, keep the text of `<a href>` links, drop markdown `**`."""
    return _TAG.sub(lambda m: m.group(1) or "", text).replace("**", "")


def join_fragments(parts: list[str]) -> str:
    """Join spilled fragments of one cell: by a space, or directly after a line-end hyphen
    (`далее-` + `постоянно` → `далее-постоянно`, `реализа-` + `ции`)."""
    result = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if result.endswith("-") and part[:1].islower():
            result += part
        elif result:
            result += " " + part
        else:
            result = part
    return " ".join(result.split())
