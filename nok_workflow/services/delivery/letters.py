"""What each claimed mail says: its outbox rows read in one query, rendered as a Message."""

from __future__ import annotations

import secrets
from collections import defaultdict
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from nok_workflow.calendar.ics import calendar_from_events
from nok_workflow.expand import obligation_owners
from nok_workflow.reports.formats import FORMATS
from nok_workflow.services.read.calendar_feed import digest_events
from nok_workflow.services.delivery import chat_letters
from nok_workflow.services.delivery.digest import Contact, Entry, digest_context
from nok_workflow.settings import Settings
from nok_workflow.store.models import (
    Item,
    LinkRevision,
    Mail,
    Obligation,
    Outbox,
    Party,
    Plan,
)
from nok_workflow.store.owners import named_owner, owner_refs
from nok_workflow.tokens import upload_link
from notifiers import Attachment, Message
from notifiers.render import render_digest


def new_message_id(mail_from: str) -> str:
    """Unique worldwide: 128 random bits at the sender's domain. Chosen once, when the mail
    is created, and stored: a resend after a crash carries the same one, and no other
    store (next year's, a neighbour's) ever sends it, so de-duplicating mail systems drop
    only true copies."""
    address = parseaddr(mail_from)[1]
    domain = address.rpartition("@")[2] or "nok-workflow.invalid"
    return f"<{secrets.token_hex(16)}@{domain}>"


def entries(session: Session, mail_ids: list[int], settings: Settings, key: bytes) -> dict[int, list[Entry]]:
    """What each mail lists, for all the claimed mails in one query (not one per row).

    An escalation names the owners who have not delivered, so the person it went to can
    reach them: an organisation's obligation has one, its `org`; any other comes back once
    per person or unit among its item's owners (`late`). Other rows come back once.
    """
    org, late = aliased(Party), aliased(Party)
    ref = owner_refs(session.get_bind().dialect.name)
    # Plain columns, not ORM objects (a tenth of the cost); an item's own fields are read
    # once below, not with each of its thousands of rows.
    rows = session.execute(
        select(Outbox.id, Outbox.mail_id, Outbox.kind, Outbox.step, Outbox.plan_id, Outbox.obligation_id,
               Outbox.recipient, Outbox.details, Obligation.id, Obligation.org_id, Obligation.period,
               Obligation.due, Obligation.item_id, Plan.title, org.name, org.email, late.name, late.email,
               LinkRevision.revision)
        .join(Plan, Plan.id == Outbox.plan_id)
        .outerjoin(LinkRevision, (LinkRevision.plan_id == Outbox.plan_id) & (LinkRevision.party_id == Outbox.recipient))
        .outerjoin(Obligation, Obligation.id == Outbox.obligation_id)
        .outerjoin(Item, Item.id == Obligation.item_id)
        .outerjoin(org, (org.plan_id == Outbox.plan_id) & (org.id == Obligation.org_id))
        .outerjoin(ref, (Outbox.kind == "escalation") & named_owner(ref))
        .outerjoin(late, (late.plan_id == Outbox.plan_id) & (late.id == ref.c.value))
        .where(Outbox.mail_id.in_(mail_ids)).order_by(Outbox.id, late.name)
    ).all()
    item_ids = {row[12] for row in rows if row[12] is not None}
    items = {i.id: i for i in session.execute(
        select(Item.id, Item.key, Item.title, Item.owners, Item.results).where(Item.id.in_(item_ids)))} \
        if item_ids else {}
    links: dict[tuple[str, str, int], str] = {}  # one HMAC per person, not per row
    built: dict[int, tuple[int, dict[str, Any]]] = {}  # outbox row id → (mail id, the entry's fields)
    report_files: dict[int, tuple[tuple[str, str, bytes], ...]] = {}
    late_owners: dict[int, list[Contact]] = defaultdict(list)  # escalation's row id → its owners
    recipients: dict[int, str] = {}
    for (row_id, mail_id, kind, step, plan_id, obligation_id, recipient, details, ob, org_id, period, due,
         item_id, plan_title, org_name, org_email, late_name, late_email, revision) in rows:
        if kind == "escalation":
            name, email = (org_name, org_email) if org_name is not None else (late_name, late_email)
            if name is not None:
                late_owners[row_id].append(Contact(name, email))
        if row_id in built:
            continue  # the same escalation again, for its next owner
        recipients[row_id] = recipient
        if kind == "report":
            report_files[row_id] = _report_files(settings.home, details.get("files", []))
        item = items.get(item_id) if ob is not None else None
        owners = obligation_owners(org_id, item.owners) if ob is not None else []
        linked = kind == "rejected" or (kind in ("reminder", "escalation") and recipient in owners)
        link = None
        if linked:
            at = (plan_id, recipient, revision or 0)
            link = links.get(at)
            if link is None:
                link = links[at] = upload_link(settings.base_url, key, plan_id, recipient, revision or 0)
        built[row_id] = mail_id, dict(
            kind=kind, step=step, plan=plan_title, plan_id=plan_id, obligation=obligation_id,
            key=item.key if item else details.get("item"),
            title=item.title if item and kind != "plan_changed" else details.get("title"),
            period=period if ob is not None else None, org=org_name,
            documents="; ".join(item.results) if item and item.results else None,
            due=due if ob is not None else None, owner=recipient in owners, reason=details.get("reason"),
            new=bool(details.get("new")), link=link,
        )
    # A first reminder brings a new deadline: the digest attaches it as the reader's feed shows it.
    wanted = {row_id: (f["obligation"], recipients[row_id]) for row_id, (_, f) in built.items()
              if f["kind"] == "reminder" and f["new"] and f["link"] and f["due"] and f["obligation"]}
    events = digest_events(session, session.get_bind(), set(wanted.values()), base_url=settings.base_url, key=key)
    found: dict[int, list[Entry]] = defaultdict(list)
    for row_id, (mail_id, fields) in built.items():
        event, timezone = events.get(wanted.get(row_id), (None, None))
        found[mail_id].append(Entry(**fields, late_owners=tuple(late_owners.get(row_id, ())), event=event,
                                    timezone=timezone, attachments=report_files.get(row_id, ())))
    return found


def _report_files(home: Path, files: list[str]) -> tuple[tuple[str, str, bytes], ...]:
    """A quarterly report's files as the digest attaches them; one deleted since is left out."""
    found = []
    for name in files:
        path = home / name
        if path.is_file():
            fmt = FORMATS.get(path.suffix.lstrip("."))
            found.append((path.name, fmt.media_type if fmt else "application/octet-stream", path.read_bytes()))
    return tuple(found)


def build(mail: Mail, listed: list[Entry]) -> Message:
    context = digest_context(mail.name, mail.day, listed)
    if mail.channel != "email":  # the same digest, in the messenger's markup and parts
        chat = chat_letters.render(context, mail.channel)
        return Message(to_address=mail.address, to_name=mail.name, subject=context["subject"],
                       text="\n\n".join(chat.parts), html="", message_id=mail.message_id,
                       parts=chat.parts, button=chat.button, parts_done=mail.parts_sent)
    events = [e for e in listed if e.event]
    attachments = (Attachment("sroki.ics", "text/calendar", calendar_from_events(
        [e.event for e in events], "Сроки НОК", events[0].timezone or "Europe/Moscow")),) if events else ()
    attachments += tuple(Attachment(*file) for e in listed for file in e.attachments)
    return render_digest(context, to_address=mail.address, message_id=mail.message_id, attachments=attachments)
