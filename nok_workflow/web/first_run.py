"""The first page of a fresh install (`GET /` while no account exists): the form that creates
the first coordinator account, the demo plan (read only, with its executors' links to try),
and what to do next.

Public, and safe so: it shows only demo plans (`Plan.demo`), whose addresses are at
`demo.invalid` and whose mail stays in the outbox folder. A plan the user loaded is never
shown here; the page then only explains the steps.

The account form is offered, and accepted, only from the server itself: the TCP peer is a
loopback address and the request came through no proxy (a forwarding header is refused,
never believed). It is gone once any account exists: the page and the form then lead to
sign-in. Two forms sent at once make one account (`accounts.add(first=True)`).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from nok_workflow.problems import InputError
from nok_workflow.services.commands import accounts
from nok_workflow.services.read.demo_view import demo_view, own_plan_count
from nok_workflow.web.auth import ctx
from nok_workflow.web.coordinator_common import done
from nok_workflow.web.pages import PageError, render
from nok_workflow.web.security import csrf_protect
from nok_workflow.web.signin import start_session

router = APIRouter()

# A proxy in front says whom it forwards for: such a request did not start on this machine.
FORWARDING = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


def from_this_machine(request: Request) -> bool:
    """The TCP peer is 127.0.0.1 or ::1 (any loopback address), and no proxy forwarded it."""
    if any(name in request.headers for name in FORWARDING):
        return False
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


def _port(request: Request) -> int:
    server = request.scope.get("server")
    return server[1] if server and server[1] else 8470


def first_run(request: Request, status: int | None = None, **form: object) -> Response:
    """The page; `form` refills the account form after a refusal (never the password)."""
    c = ctx(request)
    local = from_this_machine(request)
    demo = demo_view(c.engine, c.settings.base_url, c.key)
    form.setdefault("login", demo["coordinator"] if demo else "")
    return render(request, "first_run.html", status=status or (200 if local else 403), demo=demo,
                  own_plans=own_plan_count(c.engine), outbox=str(c.settings.outbox_dir), local=local,
                  port=_port(request), min_password=accounts.MIN_PASSWORD, form=form)


@router.get("/first-run")
def first_run_again(request: Request) -> Response:
    if accounts.any_account(ctx(request).engine):
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/", status_code=303)


@router.post("/first-run", dependencies=[Depends(csrf_protect)])
async def create_first_account(
        request: Request, login: Annotated[str, Form(max_length=64)] = "",
        name: Annotated[str, Form(max_length=200)] = "", email: Annotated[str, Form(max_length=254)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        password2: Annotated[str, Form(max_length=1024)] = "") -> Response:
    c = ctx(request)
    if accounts.any_account(c.engine):
        return RedirectResponse("/login", status_code=303)
    if not from_this_machine(request):
        raise PageError(403, "Учётная запись создаётся только на самом сервере",
                        "Первую учётную запись координатора можно создать только в браузере, открытом на "
                        "компьютере, где работает nok-workflow: так её не создаст посторонний, который "
                        "первым найдёт адрес сервера.",
                        f"Откройте на сервере адрес http://127.0.0.1:{_port(request)}/ — или попросите "
                        f"администратора сервера сделать это.")
    login, name, email = login.strip().lower(), name.strip(), email.strip()
    refill = {"login": login, "name": name, "email": email}
    if password != password2:
        return first_run(request, 422, **refill, errors=["Пароли не совпадают: введите один и тот же пароль "
                                                         "в оба поля."])
    try:
        # argon2 takes ~50 ms of CPU: off the event loop.
        account = await asyncio.to_thread(accounts.add, c.engine, login=login, name=name, email=email,
                                          password=password, now=c.now(), first=True)
    except accounts.AlreadySetUp:
        return RedirectResponse("/login", status_code=303)
    except InputError as exc:
        return first_run(request, 422, **refill, errors=[p.message for p in exc.problems])
    response = done(request, "/", f"Учётная запись координатора «{account.login}» создана, вы вошли. "
                                  "Теперь загрузите свой план.")
    start_session(request, account.login, response)
    return response
