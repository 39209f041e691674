"""The audit log: who did what, when — every load, amendment, submission, review, waiver."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow.status import LABELS
from nok_workflow.store.models import AuditEvent
from nok_workflow.text import MESSENGERS


def record(session: Session, *, actor: str, action: str, plan_id: str | None, at: dt.datetime,
           details: dict[str, Any]) -> None:
    session.add(AuditEvent(at=at, actor=actor, action=action, plan_id=plan_id, details=details))


def events(engine: Engine, *, plan_id: str | None = None, since: dt.datetime | None = None,
           limit: int = 1000, offset: int = 0, newest_first: bool = False) -> list[AuditEvent]:
    order = (AuditEvent.at.desc(), AuditEvent.id.desc()) if newest_first else (AuditEvent.at, AuditEvent.id)
    query = select(AuditEvent).order_by(*order).limit(limit).offset(offset)
    if plan_id:
        query = query.where(AuditEvent.plan_id == plan_id)
    if since:
        query = query.where(AuditEvent.at >= since)
    with Session(engine) as session:
        return list(session.execute(query).scalars())


ACTIONS = {"plan.load": "план загружен", "plan.amend": "план изменён", "evidence.submit": "документ загружен",
           "evidence.accept": "документ принят", "evidence.reject": "документ отклонён",
           "obligation.waive": "обязательство снято", "status.change": "состояния пересчитаны",
           "account.add": "учётная запись создана", "account.password": "пароль изменён",
           "link.revoke": "ссылка исполнителя заменена", "api_token.create": "выдан API-токен",
           "api_token.revoke": "API-токен отозван", "feed.create": "выдана подписка на календарь",
           "feed.revoke": "подписка на календарь отозвана", "report.issue": "сформирован квартальный отчёт",
           "plan.publish": "открыта страница хода выполнения для всех",
           "plan.unpublish": "закрыта страница хода выполнения",
           "campaign.publish": "открыта страница хода выполнения кампании для всех",
           "campaign.unpublish": "закрыта страница хода выполнения кампании",
           "chat.link": "подключён чат мессенджера", "chat.unlink": "отключён чат мессенджера",
           "party.mail_off": "напоминания только в мессенджере, без почты",
           "party.mail_on": "напоминания снова и по почте"}


_UNLINKED = {"stop": "командой /stop в чате", "page": "на личной странице", "blocked": "бот заблокирован в чате"}


def audit_parts(e: dict) -> tuple[str, str, list[str]]:
    """What happened, who did it, and on what (item, version, document, changes, reason)."""
    d, parts = e["details"], []
    if d.get("item"):
        parts.append(f"пункт {d['item']}" + (f" ({d['period']})" if d.get("period") else ""))
    if d.get("version"):
        parts.append(f"версия {d['version']}")
    if e["action"] == "report.issue":
        parts.append(f"за {d.get('title') or d.get('quarter')}")
    if d.get("evidence"):
        parts.append(f"документ №{d['evidence']}")
    if d.get("transitions"):
        parts.append(", ".join(f"{_transition(t)}: {n}" for t, n in sorted(d["transitions"].items())))
    if e["action"].startswith("chat."):
        parts.append(f"{MESSENGERS.get(d.get('channel'), d.get('channel'))}, исполнитель {d.get('party')}")
        if d.get("reason"):
            parts.append(_UNLINKED.get(d["reason"], d["reason"]))
    elif d.get("reason"):
        parts.append(f"причина: {d['reason']}")
    what = ACTIONS.get(e["action"], e["action"])
    who = "проход по плану" if e["actor"] == "sweep" else e["actor"]
    return what, who, parts


def audit_line(e: dict) -> str:
    """One event as a person reads it: when, who, what, on which item, what changed."""
    what, who, parts = audit_parts(e)
    return f"{e['at'][:16].replace('T', ' ')}  {e['plan'] or '—'}  {what}  ({who})" + (
        f": {'; '.join(parts)}" if parts else "")


def _transition(text: str) -> str:
    before, _, after = text.partition("→")
    return f"{LABELS.get(before, before)} → {LABELS.get(after, after)}"
