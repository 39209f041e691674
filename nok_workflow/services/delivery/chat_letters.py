"""A digest as messenger messages (pure): the SAME content as the mail (digest.py's context —
what is due, overdue, escalated, each item named), written in Telegram HTML or MAX markdown,
escaped, and split at the messenger's limit at line boundaries. The upload link is a URL
button on the last part."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LIMITS = {"telegram": 4096, "max": 4000}  # characters of a message's text
BUTTON = "Загрузить документы"
FOOTER = "Сводка собрана автоматически: не больше одной в день и только о том, что требует внимания."


@dataclass(frozen=True)
class ChatText:
    parts: tuple[str, ...]  # each at most the channel's limit, sent in order
    button: tuple[str, str] | None  # (label, url) under the last part


def _tg_escape(value: str) -> str:
    return html.escape(value, quote=False)


def _tg_bold(value: str) -> str:
    return f"<b>{_tg_escape(value)}</b>"


def _tg_link(label: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{_tg_escape(label)}</a>'


_MAX_SPECIAL = re.compile(r"([\\*_~`\[\]+])")


def _max_escape(value: str) -> str:
    """MAX markdown: a backslash before every mark that could start formatting or a link."""
    return _MAX_SPECIAL.sub(r"\\\1", value)


def _max_bold(value: str) -> str:
    return f"**{_max_escape(value)}**"


def _max_link(label: str, url: str) -> str:
    return f"[{_max_escape(label)}]({url.replace(')', '%29')})"


@dataclass(frozen=True)
class _Style:
    escape: Callable[[str], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]


STYLES = {"telegram": _Style(_tg_escape, _tg_bold, _tg_link), "max": _Style(_max_escape, _max_bold, _max_link)}


def links(context: dict[str, Any]) -> list[str]:
    """The digest's distinct upload links, in order."""
    found = [line.link for plan in context["plans"] for group in plan.groups for line in group.lines if line.link]
    return list(dict.fromkeys(found))


def lines(context: dict[str, Any], channel: str) -> list[str]:
    """The digest's lines in the channel's markup; an empty string is a blank line. With one
    upload link it is the button; with several (plans), each plan's is a link under its title."""
    s = STYLES[channel]
    several = len(links(context)) > 1
    out = [s.escape(f"Здравствуйте, {context['name']}!"), "", s.escape(context["intro"])]
    for plan in context["plans"]:
        out += ["", s.bold(plan.title)]
        if plan.code:
            out.append(s.escape(f"Код плана: {plan.code}"))
        plan_links = list(dict.fromkeys(ln.link for g in plan.groups for ln in g.lines if ln.link))
        if several and plan_links:
            out.append(s.link(BUTTON, plan_links[0]))
        for group in plan.groups:
            out += ["", s.bold(group.title)]
            for line in group.lines:
                out += _item(line, s)
    return out + ["", s.escape(FOOTER)]


def _item(line: Any, s: _Style) -> list[str]:
    number = f"Пункт {line.key}: " if line.key else ""
    org = f" ({line.org})" if line.org else ""
    out = [("• " + s.bold(number.rstrip(": ") + ":") + " " if number else "• ") + s.escape(line.title + org)]
    if line.due:
        out.append(s.escape(f"   Срок: {line.due_text}" + (f" — {line.days_text}" if line.days_text else "")))
    for label, value in (("Нужен документ", line.documents), ("Причина", line.reason),
                         ("Во вложении письма", line.attached)):
        if value:
            out.append(s.escape(f"   {label}: {value}"))
    if line.owners:
        who = "; ".join(o.name + (f", {o.email}" if o.email else " (адрес почты не указан)") for o in line.owners)
        out.append(s.escape(f"   {'Исполнитель' if len(line.owners) == 1 else 'Исполнители'}: {who}"))
    return out


def split(text_lines: list[str], limit: int) -> list[str]:
    """Lines joined into parts of at most `limit` characters, cut only between lines (a line
    longer than the limit, which no digest line is in practice, is cut between words). Blank
    lines at a cut are dropped."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in _short(text_lines, limit):
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            parts.append("\n".join(current).strip("\n"))
            current, size = [], 0
            if not line:
                continue
            extra = len(line)
        current.append(line)
        size += extra
    if current and "\n".join(current).strip():
        parts.append("\n".join(current).strip("\n"))
    return parts


def _short(text_lines: list[str], limit: int) -> list[str]:
    out = []
    for line in text_lines:
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            out.append(line[:cut])
            line = line[cut:].lstrip(" ")
        out.append(line)
    return out


def render(context: dict[str, Any], channel: str) -> ChatText:
    """The digest for `channel` ("telegram" or "max"): its parts and the upload button."""
    found = links(context)
    button = (BUTTON, found[0]) if found else None
    return ChatText(tuple(split(lines(context, channel), LIMITS[channel])), button)
