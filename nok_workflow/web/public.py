"""The public progress pages: no sign-in, read only, no personal data (services/read/public_progress.py).

A plan's page is open when the plan or its campaign is public; anything else — an unknown plan, a
closed one — gets the one «not found» page. The answers may be kept by browsers and proxies for a
minute; they carry no cookie (the Guard sets none under /open/)."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nok_workflow.plan.form457 import KIND, TITLE
from nok_workflow.services.read import public_campaign, public_formats, public_progress
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import not_found, render

router = APIRouter()
CACHE = "public, max-age=60"
OPEN = "/open/"  # the prefix of every public page (the Guard sets no cookie under it)


def _plan(request: Request, plan_id: str) -> public_progress.PublicPlan:
    c = ctx(request)
    if not public_progress.visible(c.engine, plan_id):
        raise not_found()
    return public_progress.shown_plan(c.engine, plan_id, c.now())


def _campaign(request: Request, campaign_id: str) -> public_campaign.PublicCampaign:
    c = ctx(request)
    view = public_campaign.shown_campaign(c.engine, campaign_id, c.now())
    if view is None:
        raise not_found()
    return view


def _cached(response: Response) -> Response:
    response.headers["Cache-Control"] = CACHE
    return response


def _json(data: dict) -> Response:
    return _cached(Response(json.dumps(data, ensure_ascii=False, indent=1), media_type="application/json"))


def _csv(data: bytes, name: str) -> Response:
    return _cached(Response(data, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"}))


# The .json and .csv routes first: «{plan_id}» alone would take «x.json» too.
@router.get("/open/plans/{plan_id}.json")
async def plan_json(request: Request, plan_id: str) -> Response:
    view = await run_in_threadpool(_plan, request, plan_id)
    return _json(public_formats.plan_json(view, ctx(request).settings.base_url))


@router.get("/open/plans/{plan_id}.csv")
async def plan_csv(request: Request, plan_id: str) -> Response:
    view = await run_in_threadpool(_plan, request, plan_id)
    return _csv(public_formats.plan_csv(view), f"{plan_id}-{view.as_of.isoformat()}.csv")


@router.get("/open/plans/{plan_id}")
async def plan_page(request: Request, plan_id: str) -> Response:
    view = await run_in_threadpool(_plan, request, plan_id)
    return _cached(render(request, "public_plan.html", account=None, p=view, form_title=TITLE if view.kind == KIND else None,
                          url=ctx(request).settings.base_url.rstrip("/") + public_formats.plan_path(plan_id)))


@router.get("/open/campaigns/{campaign_id}.json")
async def campaign_json(request: Request, campaign_id: str) -> Response:
    view = await run_in_threadpool(_campaign, request, campaign_id)
    return _json(public_formats.campaign_json(view, ctx(request).settings.base_url))


@router.get("/open/campaigns/{campaign_id}.csv")
async def campaign_csv(request: Request, campaign_id: str) -> Response:
    view = await run_in_threadpool(_campaign, request, campaign_id)
    return _csv(public_formats.campaign_csv(view), f"{campaign_id}-{view.as_of.isoformat()}.csv")


@router.get("/open/campaigns/{campaign_id}")
async def campaign_page(request: Request, campaign_id: str) -> Response:
    view = await run_in_threadpool(_campaign, request, campaign_id)
    return _cached(render(request, "public_campaign.html", account=None, k=view))
