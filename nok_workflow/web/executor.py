"""The executor's pages, reached by the personal link of every digest: their obligations in
a plan, the documents given, and a form to give one more. No sign-in: the link is the key
(services/links.holder checks it), and every unknown, forged, revoked or expired link gets
the same «not found»."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from nok_workflow.evidence_files import StreamSource, printable
from nok_workflow.problems import InputError
from nok_workflow.services.commands import evidence, feeds
from nok_workflow.services.read import chat_links, links
from nok_workflow.services.read import party_view
from nok_workflow.settings import Settings
from nok_workflow.store.models import Party, Plan
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import evidence_attachment, not_found, render
from nok_workflow.web.security import csrf_protect

router = APIRouter()
log = logging.getLogger("nok")

# What the file input offers; the content decides what is accepted (evidence_files.kinds).
ACCEPT = ".pdf,.doc,.docx,.xls,.xlsx,.odt,.ods,.png,.jpg,.jpeg,.tif,.tiff,.txt"


def _holder(request: Request, plan_id: str, party_id: str, token: str) -> tuple[Plan, Party, dt.date]:
    c = ctx(request)
    today = party_view.plan_today(c.engine, plan_id, c.now())
    found = links.holder(c.engine, c.key, plan_id=plan_id, party_id=party_id, token=token, today=today,
                         grace_days=c.settings.link_grace_days)
    if found is None:
        raise not_found()
    plan, party = found
    return plan, party, today


MAX_ID = 2**31 - 1  # the ids are PostgreSQL `integer`s: a larger number would fail the query


def _id(value: str) -> int | None:
    """A row id from the request, or None (Unicode digits and numbers no id can be, too)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID \
        else None


def _base(plan_id: str, party_id: str, token: str) -> str:
    return "/u/" + "/".join(quote(part, safe="") for part in (plan_id, party_id, token))


def configured_chats(settings: Settings) -> tuple[str, ...]:
    """The messengers whose bot token is set, in the page's order (the tokens stay here)."""
    tokens = (("telegram", settings.telegram_token), ("max", settings.max_token))
    return tuple(channel for channel, token in tokens if token is not None and token.get_secret_value().strip())


def _page(request: Request, plan: Plan, party: Party, today: dt.date, token: str, status: int = 200,
          **extra: object) -> Response:
    c = ctx(request)
    view = party_view.load(c.engine, plan, party, today, c.settings.link_grace_days)
    chats = chat_links.for_party(c.engine, plan_id=plan.id, party_id=party.id,
                                 configured=configured_chats(c.settings))
    return render(request, "executor.html", status=status, view=view, base=_base(plan.id, party.id, token),
                  accept=ACCEPT, max_size=party_view.short_size(c.settings.evidence_max_bytes), chats=chats,
                  **extra)


@router.get("/u/{plan_id}/{party_id}/{token}")
def party_page(request: Request, plan_id: str, party_id: str, token: str, uploaded: str = "") -> Response:
    plan, party, today = _holder(request, plan_id, party_id, token)
    # `uploaded` only names a document of this party's own obligations: anything else is ignored.
    return _page(request, plan, party, today, token, uploaded=_id(uploaded))


def _document_date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None  # the service takes today
    for parse in (dt.date.fromisoformat, lambda v: dt.datetime.strptime(v, "%d.%m.%Y").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError(f"«{value[:40]}» — не дата; укажите дату документа в виде ДД.ММ.ГГГГ")


@router.post("/u/{plan_id}/{party_id}/{token}/upload", dependencies=[Depends(csrf_protect)])
def upload(request: Request, plan_id: str, party_id: str, token: str,
           obligation: Annotated[str, Form()] = "",
           file: Annotated[UploadFile | None, File()] = None,
           url: Annotated[str, Form()] = "",
           document_date: Annotated[str, Form()] = "",
           comment: Annotated[str, Form()] = "") -> Response:
    plan, party, today = _holder(request, plan_id, party_id, token)
    c = ctx(request)
    ob_id = _id(obligation)
    found = party_view.own_obligation(c.engine, plan.id, party.id, ob_id) if ob_id is not None else None
    if found is None:
        raise not_found()
    item, ob = found
    given = file is not None and bool(file.filename)  # an empty file input still sends a part
    entered = {"url": url, "document_date": document_date, "comment": comment, "had_file": given}

    def refused(status: int, messages: list[str]) -> Response:
        return _page(request, plan, party, today, token, status=status, failed=ob.id, errors=messages,
                     entered=entered)

    try:
        day = _document_date(document_date)
    except ValueError as exc:
        return refused(422, [str(exc)])
    source = StreamSource(file.file, file.filename, file.size) if given else None
    try:
        saved = evidence.submit(
            c.engine, c.settings.evidence_dir, plan_id=plan.id, item=item.key, period=ob.period,
            org=ob.org_id or None, by=party.id, now=c.now(), upload=source, url=url.strip() or None,
            document_date=day, comment=comment, max_bytes=c.settings.evidence_max_bytes)
    except InputError as exc:
        shown = printable(file.filename) if given else None
        messages = [f"«{p.file}»: {p.message}" if p.file == shown else p.message for p in exc.problems]
        too_big = given and file.size is not None and file.size > c.settings.evidence_max_bytes
        return refused(413 if too_big else 422, messages)
    try:
        # Dependent items unblock and relative deadlines get their dates now, not tomorrow.
        c.trigger(plan.id, c.simulated())
    except Exception:  # noqa: BLE001 - the document is recorded; the daily run catches up
        log.exception("запуск плана %s после загрузки документа №%s не удался", plan.id, saved.id)
    return RedirectResponse(f"{_base(plan.id, party.id, token)}?uploaded={saved.id}#notice", status_code=303)


CALENDAR_NAME = "с личной страницы"


@router.post("/u/{plan_id}/{party_id}/{token}/calendar", dependencies=[Depends(csrf_protect)])
def calendar(request: Request, plan_id: str, party_id: str, token: str) -> Response:
    """A calendar subscription of the party's deadlines; the address is shown this once."""
    plan, party, today = _holder(request, plan_id, party_id, token)
    c = ctx(request)
    secret = feeds.replace(c.engine, plan_id=plan.id, party_id=party.id, name=CALENDAR_NAME, by=party.id,
                           now=c.now())
    url = feeds.feed_url(c.settings.base_url, secret)
    return _page(request, plan, party, today, token, calendar_url=url,
                 webcal_url="webcal://" + url.split("://", 1)[1])


@router.get("/u/{plan_id}/{party_id}/{token}/evidence/{evidence_id}")
def download(request: Request, plan_id: str, party_id: str, token: str, evidence_id: str) -> Response:
    plan, party, _ = _holder(request, plan_id, party_id, token)
    c = ctx(request)
    wanted = _id(evidence_id)
    found = party_view.own_evidence(c.engine, plan.id, party.id, wanted) if wanted is not None else None
    if found is None:
        raise not_found()
    return evidence_attachment(c.settings.evidence_dir, found, "Сообщите координатору плана.")
