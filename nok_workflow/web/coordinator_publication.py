"""Opening a plan's or a campaign's progress page to everyone, and closing it (web/public.py shows
them): forms on the plan's dashboard and on the campaign's page; the service call is
services/commands/publication.py. A plan or campaign that is not the caller's is «not found»."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from nok_workflow.services.commands import publication
from nok_workflow.services.read.public_formats import campaign_path, plan_path
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx
from nok_workflow.web.coordinator_common import done
from nok_workflow.web.pages import PageError, not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()
_BACK = re.compile(r"/(?!/)[A-Za-z0-9/_.-]{0,200}")  # a path of this site only, never «//other.site»


def _switch(value: str) -> bool:
    if value not in ("0", "1"):
        raise PageError(422, "Форма заполнена неверно", "Поле public должно быть 1 (открыть) или 0 (закрыть).",
                        "Вернитесь на страницу и нажмите кнопку ещё раз.")
    return value == "1"


@router.post("/coordinator/plans/{plan_id}/public", dependencies=[Depends(csrf_protect)])
def plan_public(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
                public: Annotated[str, Form(max_length=1)]) -> Response:
    on = _switch(public)
    c = ctx(request)
    try:
        publication.set_plan_public(c.engine, plan_id, on, by=account.login, now=c.now())
    except publication.NotYours:
        raise not_found() from None
    url = c.settings.base_url.rstrip("/") + plan_path(plan_id)
    text = (f"Страница хода выполнения открыта для всех: {url}. На ней нет имён и адресов — ответственные "
            "названы по должности." if on else "Страница хода выполнения закрыта: по её адресу теперь «страница "
            "не найдена».")
    return done(request, f"/plans/{plan_id}", text)


@router.post("/coordinator/campaigns/{campaign_id}/public", dependencies=[Depends(csrf_protect)])
def campaign_public(request: Request, campaign_id: str, account: Annotated[Account, Depends(coordinator)],
                    public: Annotated[str, Form(max_length=1)],
                    back: Annotated[str, Form(max_length=200)] = "") -> Response:
    """`back`: the page to return to (the campaigns page that shows the button); by default the
    campaign's own page."""
    on = _switch(public)
    c = ctx(request)
    try:
        publication.set_campaign_public(c.engine, campaign_id, on, by=account.login, now=c.now())
    except publication.NotYours:
        raise not_found() from None
    url = c.settings.base_url.rstrip("/") + campaign_path(campaign_id)
    text = (f"Страница хода выполнения кампании открыта для всех: {url}; открыты и страницы всех её планов."
            if on else "Страница хода выполнения кампании закрыта (страницы планов, открытые отдельно, остались "
            "открытыми).")
    return done(request, back if _BACK.fullmatch(back) else f"/coordinator/campaigns/{campaign_id}", text)
