"""File names as users give them: cleaned for storing and display, escaped for printing."""

from __future__ import annotations

import re
import unicodedata

from nok_workflow.evidence_files.messages import fail

MAX_NAME = 255
# Unicode categories never shown in a name: controls, format (bidi, zero-width), separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_text(raw: str | bytes) -> str:
    """Text for a name: invalid UTF-8 bytes (as bytes or as surrogate escapes) become U+FFFD."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return _SURROGATE.sub("\ufffd", raw)


def printable(raw: str | bytes) -> str:
    """A name or path safe to print: hidden characters and undecodable bytes shown as escapes."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8", "surrogateescape")  # a name from argv: back to its bytes
        except UnicodeEncodeError:
            raw = _SURROGATE.sub("\ufffd", raw).encode("utf-8")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _HIDDEN else ch
                   for ch in text)


def display_name(raw: str | bytes) -> str:
    """The name shown and stored: NFC, without control, bidi or zero-width characters."""
    text = unicodedata.normalize("NFC", _as_text(raw))
    return "".join(ch for ch in text if unicodedata.category(ch) not in _HIDDEN).strip()


def check_name(raw: str | bytes, where: str) -> str:
    """A declared name: one file name, not a path; returns it cleaned."""
    name = display_name(raw)
    shown = printable(raw)
    if "/" in name or "\\" in name:
        raise fail(where, f"недопустимое имя файла «{shown}»: нужно имя без пути")
    if name in ("", ".", ".."):
        raise fail(where, f"недопустимое имя файла «{shown}»: в нём нет видимых символов имени")
    if len(name) > MAX_NAME:
        raise fail(where, f"имя файла длиннее {MAX_NAME} символов ({len(name)})")
    return name
