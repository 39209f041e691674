"""A person's daily digest: their items that need attention, grouped and sorted (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nok_workflow.text import date_long, days_phrase, plural


@dataclass(frozen=True)
class Entry:
    """One outbox row, with what a person needs to act on it."""

    kind: str  # reminder | escalation | rejected | plan_changed
    step: int
    plan: str  # the plan's title
    key: str | None
    title: str | None
    obligation: int | None = None
    period: str | None = None
    org: str | None = None
    documents: str | None = None
    due: dt.date | None = None
    owner: bool = True  # the recipient is an owner (else it was escalated to them)
    reason: str | None = None
    link: str | None = None
    new: bool = False  # the first reminder of this deadline: it goes into the .ics attachment


GROUPS = (
    ("escalated", "Эскалировано вам: исполнители не представили документы"),
    ("overdue", "Просрочено"),
    ("today", "Срок сегодня"),
    ("soon", "Скоро срок"),
    ("rejected", "Документ отклонён"),
    ("plan_changed", "Изменения в плане"),
)


def group_of(entry: Entry, day: dt.date) -> str:
    if entry.kind == "escalation":
        return "overdue" if entry.owner else "escalated"
    if entry.kind == "reminder":
        return "today" if entry.due == day else ("overdue" if entry.due and entry.due < day else "soon")
    return entry.kind


def digest_context(name: str, day: dt.date, entries: list[Entry]) -> dict[str, Any]:
    groups = []
    for group, title in GROUPS:
        members = sorted((e for e in entries if group_of(e, day) == group),
                         key=lambda e: (e.due or dt.date.max, e.plan, e.key or "", e.org or ""))
        if members:
            groups.append({"title": title, "lines": [_line(e, day) for e in members]})
    return {"name": name, "day": date_long(day), "groups": groups, "subject": subject(entries, day),
            "intro": f"Сводка на {date_long(day)}: требуют внимания "
                     f"{plural(len(entries), 'пункт', 'пункта', 'пунктов')}."}


def _line(e: Entry, day: dt.date) -> dict[str, Any]:
    return {"plan": e.plan, "key": e.key or "", "title": e.title or "", "org": e.org,
            "obligation": e.obligation or 0, "due": e.due.isoformat() if e.due else None,
            "due_text": date_long(e.due) if e.due else "", "days_text": days_phrase(e.due, day) if e.due else "",
            "documents": e.documents, "reason": e.reason, "link": e.link}


def subject(entries: list[Entry], day: dt.date) -> str:
    """What to do and by when."""
    kinds = {group_of(e, day) for e in entries}
    work = [e for e in entries if e.kind in ("reminder", "escalation")]
    count = plural(len(work), "пункт", "пункта", "пунктов")
    if "escalated" in kinds:
        return f"Эскалация: просрочены документы по плану — {count}, нужны ваши меры"
    if "overdue" in kinds:
        return f"Просрочено: {count} — загрузите документы как можно скорее"
    if "today" in kinds:
        return f"Срок сегодня: {count} — загрузите документы до конца дня"
    if "soon" in kinds:
        nearest = min(e.due for e in work if e.due)
        return f"Напоминание: {count}, ближайший срок {date_long(nearest)}"
    if "rejected" in kinds:
        return "Документ отклонён — загрузите исправленный"
    return "Изменения в плане: проверьте свои пункты"
