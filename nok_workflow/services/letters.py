"""What each claimed mail says: its outbox rows read in one query, rendered as a Message."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from nok_workflow.expand import obligation_owners
from nok_workflow.ical import Deadline, calendar_bytes
from nok_workflow.services.digest import Entry, digest_context
from nok_workflow.settings import Settings
from nok_workflow.store.models import Item, Mail, Obligation, Outbox, Party, Plan
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
    """What each mail lists, for all the claimed mails in one query (not one per row)."""
    org = aliased(Party)
    rows = session.execute(
        select(Outbox, Obligation, Item, Plan.title, org.name)
        .join(Plan, Plan.id == Outbox.plan_id)
        .outerjoin(Obligation, Obligation.id == Outbox.obligation_id)
        .outerjoin(Item, Item.id == Obligation.item_id)
        .outerjoin(org, (org.plan_id == Outbox.plan_id) & (org.id == Obligation.org_id))
        .where(Outbox.mail_id.in_(mail_ids)).order_by(Outbox.id)
    ).all()
    found: dict[int, list[Entry]] = defaultdict(list)
    for row, ob, item, plan_title, org_name in rows:
        owners = obligation_owners(ob.org_id, item.owners) if ob else []
        linked = row.kind == "rejected" or (row.kind in ("reminder", "escalation") and row.recipient in owners)
        found[row.mail_id].append(Entry(
            kind=row.kind, step=row.step, plan=plan_title, obligation=row.obligation_id,
            key=item.key if item else row.details.get("item"),
            title=item.title if item and row.kind != "plan_changed" else row.details.get("title"),
            period=ob.period if ob else None, org=org_name,
            documents="; ".join(item.results) if item and item.results else None,
            due=ob.due if ob else None, owner=row.recipient in owners, reason=row.details.get("reason"),
            new=bool(row.details.get("new")),
            link=upload_link(settings.base_url, key, row.plan_id, row.recipient) if linked else None,
        ))
    return found


def build(mail: Mail, listed: list[Entry], now: dt.datetime) -> Message:
    context = digest_context(mail.name, mail.day, listed)
    deadlines = [Deadline(uid=f"nok-ob-{e.obligation}@nok-workflow", day=e.due, summary=f"{e.key} {e.title}",
                          description=f"{e.plan}. Нужен документ: {e.documents or '—'}", url=e.link)
                 for e in listed if e.kind == "reminder" and e.new and e.due and e.obligation]
    attachments = (Attachment("sroki.ics", "text/calendar", calendar_bytes(deadlines, now)),) if deadlines else ()
    return render_digest(context, to_address=mail.address, message_id=mail.message_id, attachments=attachments)
