"""A campaign's roll-up as a download for its owner: `/coordinator/campaigns/{id}/report.{fmt}`
(Word, Excel or JSON), the same service call as `nok report --campaign`. Another coordinator's
campaign, or one that is not there, is «not found» alike."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nok_workflow.reports.formats import FORMATS
from nok_workflow.reports.rollup_files import FORMATS as ROLLUP_FORMATS
from nok_workflow.reports.rollup_files import file_name, render_rollup
from nok_workflow.services.read.campaign_rollup import build_rollup, campaign_owner
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx
from nok_workflow.web.pages import not_found

router = APIRouter()


@router.get("/coordinator/campaigns/{campaign_id}/report.{fmt}")
def campaign_report(request: Request, campaign_id: str, fmt: str,
                    account: Annotated[Account, Depends(coordinator)]) -> Response:
    c = ctx(request)
    if fmt not in ROLLUP_FORMATS or campaign_owner(c.engine, campaign_id) != account.login:
        raise not_found()
    rollup = build_rollup(c.engine, campaign_id, c.now())
    return Response(render_rollup(rollup, fmt), media_type=FORMATS[fmt].media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name(rollup, fmt), safe='')}",
        "Cache-Control": "no-store"})
