"""The plan's YAML as its coordinator loaded it, downloaded from the plan's page: the text of
the current version byte for byte (comments and key order kept), so that editing it and
loading it again is the way to the next version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nok_workflow.services.read.catalog import plan_source
from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx, require_plan
from nok_workflow.web.pages import not_found

router = APIRouter()


@router.get("/plans/{plan_id}/plan.yaml")
def plan_file(request: Request, plan_id: str, account: Annotated[Account, Depends(coordinator)]) -> Response:
    require_plan(request, account, plan_id)  # another coordinator's plan: «not found»
    found = plan_source(ctx(request).engine, plan_id)
    if found is None:
        raise not_found()
    # Plan ids are [a-z0-9_.-]: a file name that needs no quoting.
    return Response(found.text.encode("utf-8"), media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={plan_id}.yaml",
                             "Cache-Control": "no-store"})
