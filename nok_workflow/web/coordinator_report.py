"""The plan's report on the coordinator's pages: a quarter (or the year to date) chosen, its
totals, chart and sections at a glance, the files in every format. The same service calls as
`nok report`."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nok_workflow.problems import InputError
from nok_workflow.reports.chart import chart_svg
from nok_workflow.reports.formats import FORMATS, file_name, render
from nok_workflow.reports.form_model import FormReport
from nok_workflow.reports.model import (
    OUTCOME_WORDS,
    ROMAN,
    Period,
    Report,
    parse_quarter,
    report_period,
)
from nok_workflow.services.read.dashboard import dashboard
from nok_workflow.services.read.form_report import build_form_report, is_form_plan
from nok_workflow.services.read.report import build_report, report_quarters
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.coordinator_common import page
from nok_workflow.web.pages import PageError, not_found

router = APIRouter()
BAD_QUARTER = "Неверный квартал"


def _asked(quarter: str | None) -> tuple[int, int] | None:
    if not quarter:
        return None
    try:
        return parse_quarter(quarter, "квартал")
    except InputError as exc:
        raise PageError(400, BAD_QUARTER, exc.problems[0].message,
                        "Выберите квартал в списке на странице «Отчёт» плана.") from None


def _query(period: Period) -> str:
    return f"quarter={period.year}Q{period.quarter}" + ("&ytd=1" if period.year_to_date else "")


def chart_image(svg: str) -> str:
    """The chart as a data: address for <img>: the site's Content-Security-Policy forbids
    inline styles, which an inline <svg> of matplotlib is made of (its bars would be black);
    an image is drawn as a document of its own."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@router.get("/plans/{plan_id}/report")
def report_page(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)],
                quarter: str | None = None, ytd: bool = False) -> Response:
    require_plan(request, account, plan_id)
    c = ctx(request)
    d = dashboard(c.engine, plan_id, c.now())
    choices, chosen = report_quarters(c.engine, plan_id, c.now())
    extra: dict[str, object] = {}
    try:
        chosen = _asked(quarter) or chosen
    except PageError as refused:
        extra = {"refusal": refused.message, "status": 400}  # said on the page, the picker at hand
    else:
        period = report_period(*chosen, ytd)
        built = build_report(c.engine, plan_id, period, now=c.now(), base_url=c.settings.base_url)
        extra = {"r": built, "chart": chart_image(chart_svg(built)), "query": _query(period),
                 "form_plan": is_form_plan(c.engine, plan_id)}
    if chosen not in choices:
        choices = sorted({*choices, chosen})
    response = page(request, "coord_report.html", d=d, tab="report", words=OUTCOME_WORDS,
                    formats=FORMATS.values(), choices=[(f"{y}Q{q}", f"{ROMAN[q]} квартал {y}") for y, q in choices],
                    chosen=f"{chosen[0]}Q{chosen[1]}", ytd=ytd, **extra)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/plans/{plan_id}/report.{fmt}")
def report_file(request: Request, plan_id: str, fmt: str, account: Annotated[Account, Depends(coordinator)],
                quarter: str | None = None, ytd: bool = False) -> Response:
    require_plan(request, account, plan_id)
    if fmt not in FORMATS:
        raise not_found()
    c = ctx(request)
    asked = _asked(quarter) or report_quarters(c.engine, plan_id, c.now())[1]
    built = build_report(c.engine, plan_id, report_period(*asked, ytd), now=c.now(), base_url=c.settings.base_url)
    return _download(built, fmt)


@router.get("/plans/{plan_id}/report-form.{fmt}")
def report_form_file(request: Request, plan_id: str, fmt: str, account: Annotated[Account, Depends(coordinator)],
                     quarter: str | None = None, ytd: bool = False) -> Response:
    """A shortcomings plan's report in the form № 457."""
    require_plan(request, account, plan_id)
    c = ctx(request)
    if fmt not in FORMATS or not is_form_plan(c.engine, plan_id):
        raise not_found()
    asked = _asked(quarter) or report_quarters(c.engine, plan_id, c.now())[1]
    built = build_form_report(c.engine, plan_id, report_period(*asked, ytd), now=c.now(),
                              base_url=c.settings.base_url)
    return _download(built, fmt)


def _download(built: Report | FormReport, fmt: str) -> Response:
    # Always a download: an HTML report must never render as a page of this site.
    return Response(render(built, fmt), media_type=FORMATS[fmt].media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name(built, fmt), safe='')}",
        "Cache-Control": "no-store"})
