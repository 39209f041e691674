"""The first page of a fresh install (`GET /` while no account exists): the demo plan, read
only, with its executors' links to try, and what to do next.

Public, and safe so: it shows only demo plans (`Plan.demo`), whose addresses are at
`demo.invalid` and whose mail stays in the outbox folder. A plan the user loaded is never
shown here; the page then only explains the two steps.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from nok_workflow.services.read.demo_view import demo_view, own_plan_count
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import render


def first_run(request: Request) -> Response:
    c = ctx(request)
    return render(request, "first_run.html", demo=demo_view(c.engine, c.settings.base_url, c.key),
                  own_plans=own_plan_count(c.engine), outbox=str(c.settings.outbox_dir))
