"""Who is asking: a signed-in coordinator (session cookie) or another system (API token)."""

from __future__ import annotations

from fastapi import Request

from nok_workflow.services.commands import accounts
from nok_workflow.store.models import Account, ApiToken
from nok_workflow.web.context import WebContext
from nok_workflow.web.pages import PageError

SESSION_COOKIE = "nok_session"


def ctx(request: Request) -> WebContext:
    return request.app.state.ctx


class SignInRequired(Exception):
    """Not signed in: pages redirect to the sign-in page, the API answers 401."""


def current_account(request: Request) -> Account | None:
    if not hasattr(request.state, "account"):
        c = ctx(request)
        request.state.account = accounts.signed_in(c.engine, request.cookies.get(SESSION_COOKIE), c.now())
    return request.state.account


def coordinator(request: Request) -> Account:
    """A dependency of every coordinator page."""
    account = current_account(request)
    if account is None:
        raise SignInRequired()
    return account


def require_plan(request: Request, account: Account, plan_id: str) -> None:
    """A coordinator sees the plans they coordinate; another plan is «not found», as if it
    were not there."""
    from nok_workflow.web.pages import not_found

    if not accounts.coordinates_recently(ctx(request).engine, account.login, plan_id):
        raise not_found()


def api_caller(request: Request) -> ApiToken:
    """A dependency of the JSON API's state-changing routes: `Authorization: Bearer <token>`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    row = accounts.api_token(ctx(request).engine, token.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        raise PageError(401, "Нужен API-токен", "Заголовок Authorization: Bearer <токен> отсутствует или "
                        "токен недействителен.", "Токен выдаёт координатор: nok token create.")
    return row
