"""Calendar subscriptions: `/ical/<token>.ics`, what a phone or Outlook fetches every hour.

The token is the key (services/commands/feeds.py); an unknown or revoked one gets the same «not
found» as any other address. Answers carry a strong ETag and Last-Modified, so a client
asking again for an unchanged feed gets 304 without the body.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nok_workflow.services.read import calendar_feed
from nok_workflow.services.commands import feeds
from nok_workflow.web.auth import ctx
from nok_workflow.web.pages import not_found

router = APIRouter()


@router.api_route("/ical/{token}.ics", methods=["GET", "HEAD"], include_in_schema=False)
def feed(request: Request, token: str) -> Response:
    c = ctx(request)
    subscription = feeds.by_token(c.engine, token) if len(token) <= 64 else None
    if subscription is None:
        raise not_found()
    found = calendar_feed.served(c.engine, calendar_feed.Scope(subscription.plan_id, subscription.party_id),
                                 base_url=c.settings.base_url, key=c.key)
    headers = {"ETag": found.etag, "Last-Modified": format_datetime(found.last_modified, usegmt=True),
               "Cache-Control": "private, no-cache"}
    if not_modified(request.headers.get("if-none-match"), request.headers.get("if-modified-since"),
                    found.etag, found.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type="text/calendar; charset=utf-8",
                    headers=headers | {"Content-Disposition": 'inline; filename="nok.ics"'})


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                 last_modified: dt.datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) decides when present; only without
    it does If-Modified-Since count."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # a date we cannot read: the whole feed
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified <= since
    return False
