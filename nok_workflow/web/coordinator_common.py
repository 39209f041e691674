"""What the coordinator's pages share: a notice carried across a redirect, the plan guard,
the answer after an action."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from nok_workflow.clock import plan_time
from nok_workflow.evidence_files import human_size
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import env, render

NOTICE_COOKIE = "nok_notice"


def _local_time(value: dt.datetime | None, timezone: str | None = None) -> str:
    """«08.10.2024 09:00» in the plan's time zone (stored moments are UTC)."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if timezone:
        value = plan_time(value, timezone)
    return f"{value:%d.%m.%Y %H:%M}"


env.filters["plan_time"] = _local_time
env.filters["human_size"] = human_size


def done(request: Request, url: str, text: str, kind: str = "success") -> RedirectResponse:
    """Back to a page (303, so a reload does not repeat the action), which shows `text` once."""
    response = RedirectResponse(url, status_code=303)
    value = base64.urlsafe_b64encode(json.dumps({"text": text[:600], "kind": kind}).encode()).decode()
    response.set_cookie(NOTICE_COOKIE, value, max_age=120, httponly=True, samesite="lax",
                        secure=ctx(request).settings.base_url.startswith("https:"), path="/")
    return response


def _notice(request: Request) -> dict | None:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    return {"text": data["text"], "kind": "notice" if data.get("kind") == "notice" else "success"}


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """A coordinator's page; a notice left by the action before is shown on it, once."""
    response = render(request, template, status=status, notice=_notice(request), **context)
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def uploaded_name(raw: str | None, default: str) -> str:
    """An uploaded file's own name, for the history and the pages: no folders, no hidden characters."""
    from pathlib import PurePosixPath, PureWindowsPath

    from nok_workflow.evidence_files import display_name

    return display_name(PureWindowsPath(PurePosixPath(raw or "").name).name)[:200] or default
