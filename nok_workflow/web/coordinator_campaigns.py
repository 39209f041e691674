"""Assessment campaigns in the browser: the coordinator's list with «Новая кампания», a
campaign's dashboard (per organisation: done, overdue, open, the last report; the open drafts;
what needs attention first) and its upload of many documents at once (several files or a .zip),
answered by a page listing each file → its draft, or why it is not one. Only the campaign's
owner sees it: anyone else gets the 404 of an unknown campaign."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import campaign_upload, campaigns
from nok_workflow.services.read import campaigns as campaign_view
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx
from nok_workflow.web.coordinator_common import NOTICE_COOKIE, done, page
from nok_workflow.web.pages import not_found, render
from nok_workflow.web.security import csrf_protect

router = APIRouter()
BASE = "/coordinator/campaigns"
CSRF_PLACEHOLDER = "csrf-placeholder-5d1e9a"  # never a real token (url-safe base64 of 43 chars)
_rendered: dict[tuple[str, str], tuple[object, str]] = {}


def _year(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isdigit() and 1900 <= int(text) <= 2200):
        raise InputError([Problem("year", 0, 0, f"год «{text}» записан неверно: нужен год из четырёх "
                                                          "цифр, например 2025")])
    return int(text)


@router.get(BASE)
def campaign_list(request: Request, account: Annotated[Account, Depends(coordinator)]) -> Response:
    return page(request, "coord_campaigns.html", campaigns=campaign_view.campaigns(ctx(request).engine, account.login))


@router.post(BASE, dependencies=[Depends(csrf_protect)])
def create(request: Request, account: Annotated[Account, Depends(coordinator)],
           title: Annotated[str, Form(max_length=300)] = "", year: Annotated[str, Form(max_length=16)] = "") -> Response:
    c = ctx(request)
    try:
        campaign_id = campaigns.create(c.engine, owner=account.login, title=title, year=year, now=c.now())
    except InputError as exc:
        return page(request, "coord_campaigns.html", status=422, title=title, year=year,
                    campaigns=campaign_view.campaigns(c.engine, account.login),
                    problems=[p.message for p in exc.problems])
    return done(request, f"{BASE}/{campaign_id}", f"Кампания «{' '.join(title.split())}» создана. Загрузите "
                                                  "документы планов организаций.")


def _dashboard(request: Request, account: Account, campaign_id: str) -> campaign_view.CampaignDashboard:
    c = ctx(request)
    try:
        return campaign_view.dashboard(c.engine, campaign_id, account.login, c.now())
    except campaign_view.CampaignNotFound:
        raise not_found() from None


@router.get(BASE + "/{campaign_id}")
async def campaign_page(request: Request, campaign_id: str) -> Response:
    # As the plan's dashboard: an unchanged campaign is a stamp lookup and a cached render.
    account = coordinator(request)
    c = ctx(request)
    try:
        d = campaign_view.cached(c.engine, campaign_id, account.login, c.now()) or await run_in_threadpool(
            campaign_view.dashboard, c.engine, campaign_id, account.login, c.now())
    except campaign_view.CampaignNotFound:
        raise not_found() from None
    if NOTICE_COOKIE in request.cookies:
        return page(request, "coord_campaign.html", d=d)
    entry = _rendered.get((campaign_id, account.login))
    if entry is None or entry[0] is not d:
        real, request.state.csrf = request.state.csrf, CSRF_PLACEHOLDER
        html = render(request, "coord_campaign.html", d=d, notice=None).body.decode()
        request.state.csrf = real
        if len(_rendered) > 1024:
            _rendered.clear()
        entry = _rendered[(campaign_id, account.login)] = (d, html)
    return HTMLResponse(entry[1].replace(CSRF_PLACEHOLDER, request.state.csrf))


@router.post(BASE + "/{campaign_id}/title", dependencies=[Depends(csrf_protect)])
def rename(request: Request, campaign_id: str, account: Annotated[Account, Depends(coordinator)],
           title: Annotated[str, Form(max_length=300)] = "") -> Response:
    c = ctx(request)
    try:
        campaigns.rename(c.engine, campaign_id, owner=account.login, title=title, now=c.now())
    except campaign_view.CampaignNotFound:
        raise not_found() from None
    except InputError as exc:
        return done(request, f"{BASE}/{campaign_id}", "Название не изменено: " + exc.problems[0].message, "notice")
    return done(request, f"{BASE}/{campaign_id}", "Название кампании изменено.")


@router.post(BASE + "/{campaign_id}/upload", dependencies=[Depends(csrf_protect)])
async def upload(request: Request, campaign_id: str, account: Annotated[Account, Depends(coordinator)],
                 year: Annotated[str, Form(max_length=16)] = "") -> Response:
    """Several documents or a .zip of them → a draft each, or the reason; a page lists them.
    The files are read from the form itself: a browser sends an empty file input as a field."""
    d = _dashboard(request, account, campaign_id)
    form = await request.form(max_files=campaign_upload.MAX_DOCUMENTS)
    received = [(f.filename or "", await f.read()) for f in form.getlist("files") if isinstance(f, UploadFile)]
    c = ctx(request)
    try:
        outcomes = await run_in_threadpool(campaign_upload.upload, c.engine, owner=account.login,
                                           campaign_id=campaign_id, files=received, now=c.now(), year=_year(year))
    except campaign_view.CampaignNotFound:
        raise not_found() from None
    except InputError as exc:
        return page(request, "coord_campaign_upload.html", status=422, d=d, outcomes=[],
                    problems=[p.message for p in exc.problems])
    return page(request, "coord_campaign_upload.html", d=d, outcomes=outcomes, problems=[],
                made=sum(1 for o in outcomes if o.draft_id))
