"""Coordinators sign in with a password (argon2) or a one-time link sent by email."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from nok_workflow.services.commands import accounts
from nok_workflow.web.auth import SESSION_COOKIE, ctx, current_account
from nok_workflow.web.pages import PageError, render
from nok_workflow.web.security import RateLimit, csrf_protect

router = APIRouter()
limits = RateLimit(limit=5, window=900)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def start_session(request: Request, login: str, response: Response) -> Response:
    """`login` signed in: a new session, its cookie set on `response`."""
    c = ctx(request)
    token = accounts.start_session(c.engine, login, c.now(), c.settings.session_hours)
    response.set_cookie(SESSION_COOKIE, token, max_age=c.settings.session_hours * 3600, httponly=True,
                        samesite="lax", secure=c.settings.base_url.startswith("https:"), path="/")
    return response


def _signed_in(request: Request, login: str) -> Response:
    return start_session(request, login, RedirectResponse("/", status_code=303))


@router.get("/login")
def login_page(request: Request) -> Response:
    if current_account(request) is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", accounts_exist=accounts.any_account(ctx(request).engine))


@router.post("/login", dependencies=[Depends(csrf_protect)])
async def login(request: Request, login: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=1024)] = "") -> Response:
    keys = (f"ip:{_client(request)}", f"login:{login.strip().lower()}")
    if limits.blocked(*keys):
        raise PageError(429, "Слишком много попыток входа",
                        "Вход с этого адреса или для этой учётной записи временно закрыт.",
                        "Подождите 15 минут или войдите по ссылке из письма.")
    # argon2 takes ~50 ms of CPU: off the event loop.
    account = await asyncio.to_thread(accounts.verify_password, ctx(request).engine, login, password)
    if account is None:
        limits.failed(*keys)
        return render(request, "login.html", status=401, accounts_exist=True, login=login,
                      failed="Неверный логин или пароль.")
    limits.succeeded(keys[1])
    return _signed_in(request, account.login)


@router.post("/login/link", dependencies=[Depends(csrf_protect)])
async def send_link(request: Request, login: Annotated[str, Form(max_length=64)] = "") -> Response:
    keys = (f"ip:{_client(request)}", f"link:{login.strip().lower()}")
    if limits.blocked(*keys):
        raise PageError(429, "Слишком много запросов ссылки", "Ссылки для этой учётной записи временно не "
                        "отправляются.", "Подождите 15 минут.")
    limits.failed(*keys)  # every request counts: it sends a mail
    c = ctx(request)
    made = accounts.create_login_link(c.engine, login, c.now(), c.settings.login_link_minutes)
    if made is not None:
        from nok_workflow.services.delivery.login_mail import send_login_link

        account, token = made
        await send_login_link(c.settings, account, f"{c.settings.base_url.rstrip('/')}/login/link/{token}",
                              c.settings.login_link_minutes, c.now())
    # The same answer whether the login exists or not.
    return render(request, "login.html", accounts_exist=True, sent=True,
                  minutes=c.settings.login_link_minutes)


@router.get("/login/link/{token}")
def use_link(request: Request, token: str) -> Response:
    # A GET only shows a button: mail scanners that open links must not use up the sign-in.
    return render(request, "login_link.html", token=token)


@router.post("/login/link/{token}", dependencies=[Depends(csrf_protect)])
def use_link_confirm(request: Request, token: str) -> Response:
    c = ctx(request)
    login = accounts.use_login_link(c.engine, token, c.now())
    if login is None:
        raise PageError(404, "Ссылка для входа недействительна",
                        "Ссылка уже использована, устарела или неверна.",
                        "Запросите новую ссылку на странице входа.")
    return _signed_in(request, login)


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request) -> Response:
    accounts.end_session(ctx(request).engine, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
