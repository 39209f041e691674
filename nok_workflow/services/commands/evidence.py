"""Evidence: submit (file and/or link), review, waive; completion follows from the evidence."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine, select
from sqlmodel import Session

from nok_workflow import evidence_files
from nok_workflow.clock import plan_day
from nok_workflow.expand import obligation_owners
from nok_workflow.plan.compiled import clean_number
from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.services.delivery.outbox import queue_event
from nok_workflow.services.commands.relative import refresh_relative
from nok_workflow.status import EvidenceFact, completion
from nok_workflow.store.db import write_session
from nok_workflow.store.models import (
    NO_ORG,
    Evidence,
    Item,
    Obligation,
    Party,
    Plan,
    Review,
)

WHERE = "evidence"
EARLIEST_DOCUMENT = dt.date(2000, 1, 1)  # before НОК existed: a typo in the year, not a document
MAX_URL = 2000
MAX_COMMENT = 2000


def _fail(message: str) -> InputError:
    return InputError([Problem(WHERE, 0, 0, message)])


@dataclass(frozen=True)
class Upload:
    """A file already in memory (tests, small API bodies); a path or a stream goes as
    `evidence_files.PathSource` / `StreamSource` instead."""

    content: bytes
    name: str

    def source(self) -> evidence_files.StreamSource:
        return evidence_files.StreamSource(io.BytesIO(self.content), self.name, len(self.content))


def find_obligation(session: Session, plan_id: str, item_ref: str, period: str | None,
                    org: str | None, today: dt.date) -> tuple[Plan, Item, Obligation]:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise _fail(f"план «{plan_id}» не загружен (см. nok plan list)")
    ref = clean_number(item_ref)
    items = session.execute(select(Item).where(Item.plan_id == plan_id, Item.active)).scalars().all()
    item = next((i for i in items if ref in (i.key, i.identity, clean_number(i.number))), None)
    if item is None:
        raise _fail(f"в плане «{plan_id}» нет пункта «{item_ref}»")
    query = select(Obligation).where(Obligation.item_id == item.id)
    candidates = session.execute(query).scalars().all()
    if org is not None:
        candidates = [o for o in candidates if o.org_id == org]
        if not candidates:
            raise _fail(f"у пункта {item.key} нет обязательства организации «{org}»")
    elif len({o.org_id for o in candidates}) > 1:
        orgs = sorted({o.org_id for o in candidates if o.org_id != NO_ORG})
        if not any(o.org_id == NO_ORG for o in candidates):
            raise _fail(f"пункт {item.key} исполняет каждая организация: укажите --org ({', '.join(orgs[:5])}…)")
        candidates = [o for o in candidates if o.org_id == NO_ORG]
    if period is not None:
        chosen = [o for o in candidates if o.period == period]
        if not chosen:
            known = ", ".join(sorted({o.period for o in candidates}))
            raise _fail(f"у пункта {item.key} нет периода «{period}»; есть: {known}")
    else:
        chosen = [_default_period(item.key, candidates, today)]
    return plan, item, chosen[0]


def own_org(engine: Engine, *, plan_id: str, party_id: str, item: str, period: str | None,
            now: dt.datetime) -> str | None:
    """The organisation of an organisation's upload that names none: its own obligation of
    the item, unless only an obligation without organisation fits (the organisation is the
    item's owner). None for a party that is not an organisation of the plan."""
    with Session(engine) as session:
        plan, party = session.get(Plan, plan_id), session.get(Party, (plan_id, party_id))
        if plan is None or party is None or party.kind != "organisation":
            return None
        today = plan_day(now, plan.timezone)
        for org in (party_id, None):
            try:
                find_obligation(session, plan_id, item, period, org, today)
                return org
            except InputError:
                continue
    return party_id  # neither fits: submit says why, about its own obligation


def _default_period(key: str, candidates: list[Obligation], today: dt.date) -> Obligation:
    """Without --period: the earliest obligation still open whose window has opened — an
    overdue quarter before the current one, never a quarter not yet due."""
    active = [o for o in candidates if o.state == "active"]
    if len(active) == 1:
        return active[0]  # a one-off item: early or a corrected document, it is the one
    ready = sorted((o for o in active if o.completed_on is None and (o.opens is None or o.opens <= today)),
                   key=lambda o: (o.due or dt.date.max, o.opens or dt.date.min, o.period))
    if ready:
        return ready[0]
    waiting = sorted((o for o in active if o.completed_on is None), key=lambda o: o.opens or dt.date.min)
    known = ", ".join(o.period for o in sorted(candidates, key=lambda o: (o.opens or dt.date.min, o.period)))
    if waiting:
        raise _fail(f"у пункта {key} нет открытого периода на {today:%d.%m.%Y}: ближайший, {waiting[0].period}, "
                    f"открывается {waiting[0].opens:%d.%m.%Y}; загрузить документ раньше может координатор "
                    f"плана (--period … --allow-early «причина»); периоды: {known}")
    raise _fail(f"все периоды пункта {key} выполнены; чтобы добавить документ к одному из них, укажите "
                f"--period ({known})")


def _may_submit(plan: Plan, item: Item, ob: Obligation, who: str) -> bool:
    return who == plan.coordinator or who in obligation_owners(ob.org_id, item.owners)


def _update_completion(session: Session, plan: Plan, ob: Obligation, now: dt.datetime) -> None:
    rows = session.execute(select(Evidence).where(Evidence.obligation_id == ob.id)).scalars().all()
    facts = [EvidenceFact(e.id, e.document_date, e.submitted_at, e.review) for e in rows]
    item = session.get(Item, ob.item_id)
    review_required = plan.review_required if item.review_required is None else item.review_required
    closing = completion(facts, review_required)
    completed_on = closing.document_date if closing else None
    if completed_on != ob.completed_on:
        ob.revision, ob.changed_at = ob.revision + 1, now
    ob.completed_on = completed_on
    ob.completed_by_evidence = closing.id if closing else None
    session.add(ob)
    session.flush()
    refresh_relative(session, plan.id, now)


def _check_url(url: str) -> None:
    shown = evidence_files.printable(url)
    if len(url) > MAX_URL or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise _fail(f"ссылка «{shown[:200]}» содержит пробелы или управляющие символы либо длиннее {MAX_URL} "
                    "символов")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _fail(f"ссылка «{shown}» должна начинаться с http:// или https://")


def _ru(date: dt.date) -> str:
    return f"{date.day:02}.{date.month:02}.{date.year:04}"  # strftime's %Y drops year 1's zeros


def _check_document_date(date: dt.date, given: bool, today: dt.date, plan: Plan, item: Item, ob: Obligation,
                         by: str, allow_early: str | None) -> bool:
    """Refuse a date that cannot be the document's; True when the coordinator let an early one in."""
    shown = _ru(date) + ("" if given else " (сегодня)")
    if date > today:
        raise _fail(f"дата документа {shown} ещё не наступила (сегодня {_ru(today)})")
    if allow_early is not None and by != plan.coordinator:
        raise _fail(f"--allow-early может указать только координатор плана ({plan.coordinator}), не «{by}»")
    if ob.opens is None or date >= ob.opens:
        return False
    if allow_early is None:
        raise _fail(f"дата документа {shown} раньше открытия пункта {item.key} ({ob.period}) "
                    f"{_ru(ob.opens)}; такой документ может принять координатор плана ({plan.coordinator}) "
                    "с --allow-early «причина»")
    return True


def submit(engine: Engine, evidence_dir: Path | None, *, plan_id: str, item: str, by: str, now: dt.datetime,
           period: str | None = None, org: str | None = None,
           upload: Upload | evidence_files.Source | None = None, url: str | None = None,
           document_date: dt.date | None = None, allow_early: str | None = None,
           max_bytes: int = 50 * 1024 * 1024, comment: str | None = None) -> Evidence:
    """Record a document (a file and/or a link) for one obligation. A file is read and checked
    first, and reaches its place in `evidence_dir` only with the transaction that records it."""
    if upload is None and not url:
        raise _fail("нужен файл или ссылка (--file или --url)")
    if url:
        _check_url(url)
    if document_date is not None and document_date < EARLIEST_DOCUMENT:
        raise _fail(f"дата документа {_ru(document_date)} раньше {_ru(EARLIEST_DOCUMENT)} — проверьте год")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise _fail(f"комментарий длиннее {MAX_COMMENT} символов ({len(comment)}): сократите его")
    if allow_early is not None and not allow_early.strip():
        raise _fail("--allow-early требует причины: почему документ раньше открытия пункта")
    source = upload.source() if isinstance(upload, Upload) else upload
    staging = (nullcontext() if source is None else
               evidence_files.stage(_evidence_dir(evidence_dir), source, max_bytes=max_bytes))
    # The staged file's lock first, then the database's: see evidence_files.Staged.
    with staging as staged, write_session(engine) as session:
        plan_row = session.get(Plan, plan_id)
        today = plan_day(now, plan_row.timezone) if plan_row else now.date()
        plan, item_row, ob = find_obligation(session, plan_id, item, period, org, today)
        if session.get(Party, (plan_id, by)) is None:
            raise _fail(f"«{by}» нет в справочнике плана «{plan_id}»")
        if not _may_submit(plan, item_row, ob, by):
            raise _fail(f"«{by}» не отвечает за пункт {item_row.key}: документ может загрузить "
                        "ответственный исполнитель или координатор плана")
        if ob.state != "active":
            raise _fail(f"обязательство по пункту {item_row.key} ({ob.period}) {ob.state}: документ не нужен")
        doc_date = document_date or today
        early = _check_document_date(doc_date, document_date is not None, today, plan, item_row, ob, by,
                                     allow_early)
        stored = staged.place() if staged is not None else None  # after every check above
        evidence = Evidence(obligation_id=ob.id, sha256=stored.sha256 if stored else None,
                            file_name=stored.name if stored else None, size=stored.size if stored else None,
                            media_type=stored.media_type if stored else None, url=url, submitted_by=by,
                            submitted_at=now, document_date=doc_date, comment=comment)
        session.add(evidence)
        session.flush()
        _update_completion(session, plan, ob, now)
        details = {"evidence": evidence.id, "item": item_row.key, "period": ob.period, "org": ob.org_id,
                   "sha256": evidence.sha256, "file": evidence.file_name, "url": url,
                   "document_date": doc_date.isoformat(),
                   "completed_on": ob.completed_on.isoformat() if ob.completed_on else None}
        if early:
            details |= {"allow_early": allow_early, "opens": ob.opens.isoformat()}
        audit.record(session, actor=by, action="evidence.submit", plan_id=plan_id, at=now, details=details)
        session.refresh(evidence)
        session.expunge(evidence)
        return evidence


def _evidence_dir(evidence_dir: Path | None) -> Path:
    if evidence_dir is None:
        raise ValueError("a file needs the evidence folder")
    return evidence_dir


def review(engine: Engine, *, evidence_id: int, accept: bool, reason: str | None, by: str,
           now: dt.datetime) -> Evidence:
    if not accept and not (reason or "").strip():
        raise _fail("отклонение требует причины (--reject «причина»)")
    with write_session(engine) as session:
        evidence = session.get(Evidence, evidence_id)
        if evidence is None:
            raise _fail(f"документа №{evidence_id} нет")
        ob = session.get(Obligation, evidence.obligation_id)
        plan = session.get(Plan, ob.plan_id)
        if by != plan.coordinator:
            raise _fail(f"проверять документы плана «{plan.id}» может только координатор ({plan.coordinator})")
        decision = "accepted" if accept else "rejected"
        evidence.review = decision
        review_row = Review(evidence_id=evidence.id, decision=decision, reason=reason, reviewed_by=by,
                            reviewed_at=now)
        session.add(review_row)
        session.add(evidence)
        session.flush()
        if not accept:  # the submitter learns why, in their next digest
            item = session.get(Item, ob.item_id)
            queue_event(session, key=f"ev:{evidence.id}:rejected:{review_row.id}", plan_id=plan.id,
                        obligation_id=ob.id, kind="rejected", recipient=evidence.submitted_by,
                        day=plan_day(now, plan.timezone), now=now,
                        details={"item": item.key, "title": item.title, "reason": reason})
        _update_completion(session, plan, ob, now)
        audit.record(session, actor=by, action=f"evidence.{'accept' if accept else 'reject'}",
                     plan_id=plan.id, at=now,
                     details={"evidence": evidence.id, "reason": reason, "obligation": ob.id,
                              "completed_on": ob.completed_on.isoformat() if ob.completed_on else None})
        session.refresh(evidence)
        session.expunge(evidence)
        return evidence


def waive(engine: Engine, *, plan_id: str, item: str, period: str | None, org: str | None, reason: str,
          by: str, now: dt.datetime) -> Obligation:
    if not reason.strip():
        raise _fail("снятие обязательства требует причины (--reason)")
    with write_session(engine) as session:
        plan_row = session.get(Plan, plan_id)
        today = plan_day(now, plan_row.timezone) if plan_row else now.date()
        plan, item_row, ob = find_obligation(session, plan_id, item, period, org, today)
        if by != plan.coordinator:
            raise _fail(f"снять обязательство может только координатор плана ({plan.coordinator})")
        ob.state, ob.state_reason = "waived", reason
        ob.revision, ob.changed_at = ob.revision + 1, now
        session.add(ob)
        session.flush()
        refresh_relative(session, plan.id, now)
        audit.record(session, actor=by, action="obligation.waive", plan_id=plan_id, at=now,
                     details={"item": item_row.key, "period": ob.period, "org": ob.org_id, "reason": reason})
        session.refresh(ob)
        session.expunge(ob)
        return ob


def list_evidence(engine: Engine, *, plan_id: str | None = None, item: str | None = None) -> list[dict]:
    query = (select(Evidence, Obligation.period, Obligation.org_id, Item.key, Item.plan_id)
             .join(Obligation, Obligation.id == Evidence.obligation_id)
             .join(Item, Item.id == Obligation.item_id).order_by(Evidence.id))
    if plan_id:
        query = query.where(Item.plan_id == plan_id)
    with Session(engine) as session:
        rows = session.execute(query).all()
    ref = clean_number(item)
    return [
        {"id": e.id, "plan": plan, "item": key, "period": period, "org": org or None,
         "file": e.file_name, "sha256": e.sha256, "size": e.size, "media_type": e.media_type, "url": e.url,
         "submitted_by": e.submitted_by, "submitted_at": e.submitted_at.isoformat(),
         "document_date": e.document_date.isoformat(), "review": e.review, "comment": e.comment}
        for e, period, org, key, plan in rows if not ref or key == ref
    ]
