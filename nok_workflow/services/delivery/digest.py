"""A person's daily digest: their items that need attention, by plan and group, sorted (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nok_workflow import text

# Pure wording, asked again for every line of every digest of a run (babel's date
# formatting and plural rules were a tenth of a digest's rendering): kept once per value.
date_long = lru_cache(maxsize=4096)(text.date_long)
days_phrase = lru_cache(maxsize=8192)(text.days_phrase)
agree = lru_cache(maxsize=1024)(text.agree)
plural = lru_cache(maxsize=1024)(text.plural)


class Fields(dict):
    """A dict the templates read as attributes (`line.title`): its keys are its attributes.
    Jinja tries an attribute before an item, and on a plain dict every such read failed
    first, with an exception: a third of a digest's rendering."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(fields)
        self.__dict__ = self


@dataclass(frozen=True)
class Contact:
    """Someone from a plan's directory, as the reader can reach them."""

    name: str
    email: str | None = None


@dataclass(frozen=True)
class Entry:
    """One outbox row, with what a person needs to act on it."""

    kind: str  # reminder | escalation | rejected | plan_changed | report
    step: int
    plan: str  # the plan's title
    plan_id: str
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
    late_owners: tuple[Contact, ...] = ()  # escalated to the reader: the owners who have not delivered
    event: bytes | None = None  # a new deadline's calendar event, as in the reader's feed
    timezone: str | None = None  # its plan's
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # a report's files: (name, media type, bytes)


GROUPS = (
    ("escalated", "Эскалировано вам: исполнители не представили документы"),
    ("overdue", "Просрочено"),
    ("today", "Срок сегодня"),
    ("soon", "Скоро срок"),
    ("rejected", "Документ отклонён"),
    ("plan_changed", "Изменения в плане"),
    ("report", "Отчёт о выполнении плана"),
)
_RANK = {group: rank for rank, (group, _) in enumerate(GROUPS)}

# Longer titles are named by the plan's id in subjects. НОКО plan titles share a long
# generic opening («План-график проведения независимой оценки качества…») and differ
# at the end (territory, year): a cut title would not tell two plans apart, the id does,
# and the reader meets it again in the digest («Код плана») and in every upload link.
SUBJECT_TITLE_MAX = 60


def group_of(entry: Entry, day: dt.date) -> str:
    if entry.kind == "escalation":
        return "overdue" if entry.owner else "escalated"
    if entry.kind == "reminder":
        return "today" if entry.due == day else ("overdue" if entry.due and entry.due < day else "soon")
    return entry.kind


def plan_names(entries: list[Entry]) -> dict[str, str]:
    """How subjects name each plan of a digest: «its title» when short, else its id — and
    the id when two plans share a title (e.g. this year's plan and next year's)."""
    titles = {e.plan_id: e.plan for e in entries}
    shared = {t for t, n in Counter(titles.values()).items() if n > 1}
    return {plan_id: f"«{t}»" if len(t) <= SUBJECT_TITLE_MAX and t not in shared else plan_id
            for plan_id, t in titles.items()}


def digest_context(name: str, day: dt.date, entries: list[Entry]) -> dict[str, Any]:
    names = plan_names(entries)
    count, plans = len(entries), len(names)
    where = f" в {plural(plans, 'плане', 'планах', 'планах')}" if plans > 1 else ""
    return {"name": name, "day": date_long(day), "subject": subject(entries, day),
            "intro": f"Сводка на {date_long(day)}: {agree(count, 'требует', 'требуют', 'требуют')} "
                     f"внимания {plural(count, 'пункт', 'пункта', 'пунктов')}{where}.",
            "plans": _sections(entries, day, names)}


def _sections(entries: list[Entry], day: dt.date, names: dict[str, str]) -> list[dict[str, Any]]:
    """One section per plan, its title said once; the plan with the most urgent items first."""
    by_plan: dict[str, list[Entry]] = {}
    for e in entries:
        by_plan.setdefault(e.plan_id, []).append(e)
    sections = []
    for plan_id, members in by_plan.items():
        groups = []
        for group, title in GROUPS:
            lines = sorted((e for e in members if group_of(e, day) == group),
                           key=lambda e: (e.due or dt.date.max, e.key or "", e.org or ""))
            if lines:
                groups.append(Fields(title=title, lines=[_line(e, day) for e in lines]))
        title = members[0].plan
        rank = min(_RANK[group_of(e, day)] for e in members)
        code = plan_id if names[plan_id] == plan_id else None  # how the subject named it
        sections.append(((rank, title, plan_id), Fields(title=title, code=code, groups=groups)))
    return [section for _, section in sorted(sections, key=lambda s: s[0])]


def _line(e: Entry, day: dt.date) -> dict[str, Any]:
    return Fields(key=e.key or "", title=e.title or "", org=e.org,
                  obligation=e.obligation or 0, due=e.due.isoformat() if e.due else None,
                  due_text=date_long(e.due) if e.due else "", days_text=days_phrase(e.due, day) if e.due else "",
                  documents=e.documents, reason=e.reason, link=e.link,
                  attached=", ".join(name for name, _, _ in e.attachments),
                  owners=[Fields(name=c.name, email=c.email) for c in e.late_owners] if not e.owner else [])


def subject(entries: list[Entry], day: dt.date) -> str:
    """What to do, by when, and in which plan."""
    kinds = {group_of(e, day) for e in entries}
    names = plan_names(entries)
    work = [e for e in entries if e.kind in ("reminder", "escalation")]
    rejected = [e for e in entries if e.kind == "rejected"]
    told = work if kinds & {"escalated", "overdue", "today", "soon"} else rejected or entries
    return _action(kinds, told, names) + _also(names, told)


def _action(kinds: set[str], told: list[Entry], names: dict[str, str]) -> str:
    n, on = len(told), _on(told, names)
    count = plural(n, "пункт", "пункта", "пунктов")
    if "escalated" in kinds:
        return f"Эскалация: просрочены документы {on} — {count}, нужны ваши меры"
    if "overdue" in kinds:
        return f"Просрочено: {count} {on} — загрузите документы как можно скорее"
    if "today" in kinds:
        return f"Срок сегодня: {count} {on} — загрузите документы до конца дня"
    if "soon" in kinds:
        return f"Напоминание: {count} {on}, ближайший срок {date_long(min(e.due for e in told if e.due))}"
    if "rejected" in kinds:
        return (f"{agree(n, 'Отклонён', 'Отклонены', 'Отклонено')} {plural(n, 'документ', 'документа', 'документов')}"
                f" {on} — загрузите {'исправленный' if n == 1 else 'исправленные'}")
    if "report" in kinds and all(e.kind == "report" for e in told):
        return f"{told[0].title} готов — {names[told[0].plan_id]}"
    plans = list(names.values())
    where = f"плане {plans[0]}" if len(plans) == 1 else plural(len(plans), "плане", "планах", "планах")
    return f"Изменения в {where}: проверьте свои пункты"


def _on(told: list[Entry], names: dict[str, str]) -> str:
    """«по плану «Тестовый план»», «по 2 планам»."""
    plans = list(dict.fromkeys(e.plan_id for e in told))
    return f"по плану {names[plans[0]]}" if len(plans) == 1 else \
        f"по {plural(len(plans), 'плану', 'планам', 'планам')}"


def _also(names: dict[str, str], told: list[Entry]) -> str:
    """The digest's other plans, so a subject naming one plan does not hide another."""
    rest = [name for plan_id, name in names.items() if plan_id not in {e.plan_id for e in told}]
    if not rest:
        return ""
    return f" (в сводке ещё план {rest[0]})" if len(rest) == 1 else \
        f" (в сводке ещё {plural(len(rest), 'план', 'плана', 'планов')})"
