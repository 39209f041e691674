"""What every request passes: allowed hosts, security headers, CSRF, a sign-in rate limit.

CSRF: a random cookie (`nok_csrf`, SameSite=Strict, HttpOnly) is repeated in each form as
the field `csrf` (or in the header `X-CSRF-Token`); another site can make a browser send
the cookie but can neither read it nor set the field. On top, a state-changing request
whose Origin or Sec-Fetch-Site says it came from another site is refused outright.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import Response

from nok_workflow.web.pages import PageError, error_response

CSRF_COOKIE = "nok_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

HEADERS = {
    # Everything from this server only: no inline script or style, no frames, forms post here.
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Upload links carry their token in the path: it must not travel to other sites.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def host_of(request: Request) -> str:
    raw = request.headers.get("host", "")
    if raw.startswith("["):  # [::1]:8470
        return raw.split("]")[0].lower() + "]"
    return raw.rsplit(":", 1)[0].lower() if ":" in raw else raw.lower()


def make_middleware(allowed_hosts: set[str], secure_cookies: bool) -> Callable:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if host_of(request) not in allowed_hosts:
            # DNS rebinding: a foreign name pointed at this address must not reach the pages.
            response = error_response(request, PageError(
                400, "Неизвестный адрес сервера",
                f"Сервер не отвечает на имя «{request.headers.get('host', '')[:100]}».",
                "Откройте адрес, который указан в письме, или добавьте имя в NOK_ALLOWED_HOSTS."))
        else:
            cookie = request.cookies.get(CSRF_COOKIE)
            request.state.csrf = cookie if cookie and len(cookie) >= 32 else secrets.token_urlsafe(32)
            try:
                if request.method not in SAFE_METHODS:
                    check_origin(request)
                response = await call_next(request)
            except PageError as exc:
                response = error_response(request, exc)
            if limit := request.scope.get("state", {}).get("body_too_large"):
                response = error_response(request, too_large(limit))
            if request.state.csrf != cookie:
                response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                    secure=secure_cookies, path="/")
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/u/", "/login", "/api/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


def check_origin(request: Request) -> None:
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise forbidden()
    origin = request.headers.get("origin")
    if origin and origin != "null" and (urlparse(origin).hostname or "").lower() != host_of(request).strip("[]"):
        raise forbidden()


def forbidden() -> PageError:
    return PageError(403, "Запрос отклонён",
                     "Форма устарела или была отправлена с другого сайта.",
                     "Вернитесь на страницу, обновите её и отправьте форму ещё раз.")


async def csrf_protect(request: Request) -> None:
    """A dependency of every state-changing route that a browser can reach with a cookie."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise forbidden()


class RateLimit:
    """At most `limit` failures per key in `window` seconds (sign-in: per address and login)."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)
            if len(self._failures) > 10_000:  # a flood of made-up logins must not grow memory
                for stale in [k for k, t in self._failures.items() if not t]:
                    del self._failures[stale]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


class BodyLimit:
    """Requests larger than `max_bytes` are refused before they fill the disk: at once when
    Content-Length says so, else as soon as the body read so far passes the limit (the
    PageError raised then reaches the app's handler: this sits inside the middleware above,
    whose task group would otherwise wrap it)."""

    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001 - an ASGI app
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(Request(scope), too_large(self.max_bytes))(scope, receive, send)
            return
        seen = 0

        async def limited():  # noqa: ANN202
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI turns an error while it parses a form into a 400: the flag lets
                    # the middleware above answer 413, as it should.
                    scope.setdefault("state", {})["body_too_large"] = self.max_bytes
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def too_large(max_bytes: int) -> PageError:
    from nok_workflow.evidence_files.messages import human_size

    return PageError(413, "Файл слишком большой",
                     f"Размер запроса больше допустимого ({human_size(max_bytes)}).",
                     "Сожмите файл или разбейте его на части; большой документ можно дать ссылкой.")
