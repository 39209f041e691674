"""The coordinator's pages (signed in): their plans, each plan's dashboard and audit trail;
the plan page, waivers and plan uploads (`coordinator_plans`); evidence review
(`coordinator_review`). Every action is the service call the CLI makes, `by` the login."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from nok_workflow.services.commands import accounts
from nok_workflow.services.commands.audit import audit_parts, events
from nok_workflow.services.read.campaigns import campaign_plans
from nok_workflow.services.read.campaigns import campaigns as campaign_list
from nok_workflow.services.read.dashboard import cached, dashboard, plan_cards, plan_party_names
from nok_workflow.store.models import Account
from nok_workflow.services.read.drafts import open_drafts
from nok_workflow.web import (
    coordinator_calendar,
    coordinator_campaigns,
    coordinator_directory,
    coordinator_drafts,
    coordinator_edit,
    coordinator_plan_file,
    coordinator_plans,
    coordinator_publication,
    coordinator_report,
    coordinator_review,
)
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import NOTICE_COOKIE, page
from nok_workflow.web.pages import render

router = APIRouter()
AUDIT_PAGE = 100


def first_run(request: Request) -> Response:
    """A store without accounts: what to do first."""
    from nok_workflow.web.first_run import first_run as first_run_page

    return first_run_page(request)


@router.get("/")
def home(request: Request) -> Response:
    c = ctx(request)
    if not accounts.any_account(c.engine):
        return first_run(request)
    account = coordinator(request)
    # A campaign's plans are on its own page (sixty schools' cards would bury the rest).
    grouped = campaign_plans(c.engine, account.login)
    cards = plan_cards(c.engine, [p for p in accounts.coordinated_plans(c.engine, account.login)
                                  if p not in grouped], c.now())
    return page(request, "coord_home.html", cards=cards, drafts=open_drafts(c.engine, account.login, c.now()),
                campaigns=campaign_list(c.engine, account.login))


@router.get("/plans/{plan_id}")
async def plan_dashboard(request: Request, plan_id: str) -> Response:
    # The busiest page. On an unchanged store it is three indexed lookups (session, plan,
    # change stamp) and a render, done on the event loop: under fifty clients a hop to the
    # thread pool costs more than they do. Computing it afresh goes to a thread.
    account = coordinator(request)
    require_plan(request, account, plan_id)
    c = ctx(request)
    d = cached(c.engine, plan_id, c.now()) or await run_in_threadpool(dashboard, c.engine, plan_id, c.now())
    if NOTICE_COOKIE in request.cookies:
        return page(request, "coord_dashboard.html", d=d, tab="dashboard")
    # Rendering is most of a cached dashboard's cost: the page is rendered once per computed
    # dashboard and reader, with a placeholder for the one per-browser value, the CSRF token.
    # The entry holds the dashboard itself: `is` tells a recomputed one apart.
    entry = _rendered.get((plan_id, account.login))
    if entry is None or entry[0] is not d:
        real, request.state.csrf = request.state.csrf, CSRF_PLACEHOLDER
        html = render(request, "coord_dashboard.html", d=d, tab="dashboard", notice=None).body.decode()
        request.state.csrf = real
        if len(_rendered) > 1024:
            _rendered.clear()
        entry = _rendered[(plan_id, account.login)] = (d, html)
    return HTMLResponse(entry[1].replace(CSRF_PLACEHOLDER, request.state.csrf))


CSRF_PLACEHOLDER = "csrf-placeholder-0b7f3c"  # never a real token (those are url-safe base64 of 43 chars)
_rendered: dict[tuple[str, str], tuple[object, str]] = {}


@router.get("/plans/{plan_id}/audit")
def plan_audit(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
               page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1) -> Response:
    require_plan(request, account, plan_id)
    c = ctx(request)
    d = dashboard(c.engine, plan_id, c.now())
    # One more than a page: whether a next page exists, without counting the whole log.
    rows = events(c.engine, plan_id=plan_id, limit=AUDIT_PAGE + 1, offset=(page_no - 1) * AUDIT_PAGE,
                  newest_first=True)
    names = plan_party_names(c.engine, plan_id, {e.actor for e in rows})
    shown = []
    for e in rows[:AUDIT_PAGE]:
        what, who, parts = audit_parts({"action": e.action, "actor": e.actor, "details": e.details})
        shown.append({"at": e.at, "what": what, "who": names.get(e.actor, who), "parts": parts, "action": e.action})
    return page(request, "coord_audit.html", d=d, tab="audit", events=shown, page_no=page_no,
                more=len(rows) > AUDIT_PAGE)


router.include_router(coordinator_plans.router)
router.include_router(coordinator_drafts.router)
router.include_router(coordinator_edit.router)
router.include_router(coordinator_review.router)
router.include_router(coordinator_calendar.router)
router.include_router(coordinator_report.router)
router.include_router(coordinator_plan_file.router)
router.include_router(coordinator_directory.router)
router.include_router(coordinator_publication.router)
router.include_router(coordinator_campaigns.router)
