"""The plan's calendar subscriptions on the coordinator's pages: the live ones (named, by
whom, for whom), an address of the whole plan for the coordinator, revoking one. The same
service calls as `nok feed create | list | revoke`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nok_workflow.services.commands import feeds
from nok_workflow.services.read.dashboard import dashboard, plan_party_names
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import done, page
from nok_workflow.web.pages import not_found
from nok_workflow.web.security import csrf_protect

router = APIRouter()
CALENDAR_NAME = "со страницы плана"


def _page(request: Request, plan_id: str, **extra: object) -> Response:
    c = ctx(request)
    live = [f for f in feeds.listed(c.engine, plan_id) if f.revoked_at is None]
    names = plan_party_names(c.engine, plan_id, {f.party_id for f in live if f.party_id} | {f.created_by for f in live})
    response = page(request, "coord_calendar.html", d=dashboard(c.engine, plan_id, c.now()), tab="calendar",
                    feeds=live, names=names, **extra)
    response.headers["Cache-Control"] = "no-store"  # it may show an address that is a key
    return response


@router.get("/plans/{plan_id}/calendar")
def calendar(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    require_plan(request, account, plan_id)
    return _page(request, plan_id)


@router.post("/plans/{plan_id}/calendar", dependencies=[Depends(csrf_protect)])
def new_address(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    """The whole plan's subscription for this coordinator; shown once, replaces the previous one."""
    require_plan(request, account, plan_id)
    c = ctx(request)
    secret = feeds.replace(c.engine, plan_id=plan_id, party_id=None, name=CALENDAR_NAME, by=account.login,
                           now=c.now())
    url = feeds.feed_url(c.settings.base_url, secret)
    return _page(request, plan_id, calendar_url=url, webcal_url="webcal://" + url.split("://", 1)[1])


@router.post("/plans/{plan_id}/calendar/{feed_id}/revoke", dependencies=[Depends(csrf_protect)])
def revoke(request: Request, plan_id: str, feed_id: int,
           account: Annotated[Account, Depends(coordinator)]) -> Response:
    require_plan(request, account, plan_id)
    c = ctx(request)
    if not any(f.id == feed_id and f.revoked_at is None for f in feeds.listed(c.engine, plan_id)):
        raise not_found()
    row = feeds.revoke(c.engine, feed_id, by=account.login, now=c.now())
    return done(request, f"/plans/{plan_id}/calendar", f"Подписка №{row.id} «{row.name}» отозвана: "
                "календари по её адресу больше не обновятся.")
