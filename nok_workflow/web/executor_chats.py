"""The personal page's «Напоминания в мессенджерах»: a one-time deep link to the bot
(t.me/<bot>?start=<token>, max.ru/<bot>?start=<token>), «отключить», and «только в мессенджере,
без почты». Only for the messengers whose bot is configured; the bot's own token is never
shown. The link in the page is the key, as for the rest of the page (executor.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from nok_workflow.services.commands import chat_links
from nok_workflow.services.read import chat_links as chat_view
from nok_workflow.web.auth import ctx
from nok_workflow.web.executor import _base, _holder, _page, configured_chats
from nok_workflow.web.pages import not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()
PREFIX = "/u/{plan_id}/{party_id}/{token}/chat"


def _channel(request: Request, channel: str) -> str:
    if channel not in configured_chats(ctx(request).settings):
        raise not_found()
    return channel


@router.post(PREFIX + "/{channel}", dependencies=[Depends(csrf_protect)])
def start_link(request: Request, plan_id: str, party_id: str, token: str, channel: str) -> Response:
    """«Получать напоминания в …»: a new one-time deep link, shown on the page."""
    plan, party, today = _holder(request, plan_id, party_id, token)
    channel = _channel(request, channel)
    c = ctx(request)
    start = chat_links.issue_start(c.engine, plan_id=plan.id, party_id=party.id, channel=channel, now=c.now())
    username = chat_view.username(c.engine, channel)
    link = chat_view.deep_link(channel, username, start) if username else None
    return _page(request, plan, party, today, token, chat_start=(channel, link))


@router.post(PREFIX + "/{channel}/off", dependencies=[Depends(csrf_protect)])
def unlink(request: Request, plan_id: str, party_id: str, token: str, channel: str) -> Response:
    plan, party, _ = _holder(request, plan_id, party_id, token)
    channel = _channel(request, channel)
    c = ctx(request)
    chat_links.unlink_from_page(c.engine, plan_id=plan.id, party_id=party.id, channel=channel, now=c.now())
    return RedirectResponse(f"{_base(plan.id, party.id, token)}#chats", status_code=303)


@router.post(PREFIX + "s/mail", dependencies=[Depends(csrf_protect)])
def mail_off(request: Request, plan_id: str, party_id: str, token: str,
             mail_off: Annotated[str, Form()] = "") -> Response:
    """«Только в мессенджере, без почты» (a checkbox: sent only when ticked)."""
    plan, party, _ = _holder(request, plan_id, party_id, token)
    c = ctx(request)
    chat_links.set_mail_off(c.engine, plan_id=plan.id, party_id=party.id, off=bool(mail_off), now=c.now())
    return RedirectResponse(f"{_base(plan.id, party.id, token)}#chats", status_code=303)
