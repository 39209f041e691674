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
from urllib.parse import urlparse

from fastapi import Request
from starlette.datastructures import MutableHeaders

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


class Guard:
    """Plain ASGI (Starlette's BaseHTTPMiddleware costs a task group and a stream per
    request: the dashboard under fifty clients spent more there than in its own work)."""

    def __init__(self, app, allowed_hosts: set[str], secure_cookies: bool) -> None:  # noqa: ANN001 - ASGI app
        self.app, self.hosts, self.secure = app, allowed_hosts, secure_cookies

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = scope.setdefault("state", {})
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = not (cookie and len(cookie) >= 32)
        state["csrf"] = secrets.token_urlsafe(32) if fresh else cookie
        no_store = scope["path"].startswith(("/u/", "/login", "/api/"))
        # The public pages (/open/) have no forms and may be kept by shared caches: no cookie there.
        set_cookie = (f"{CSRF_COOKIE}={state['csrf']}; HttpOnly; Path=/; SameSite=strict"
                      + ("; Secure" if self.secure else "")) if fresh and not scope["path"].startswith("/open/") else None

        async def send_headed(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
                if no_store and "cache-control" not in headers:
                    headers.append("Cache-Control", "no-store")
                if set_cookie:
                    headers.append("Set-Cookie", set_cookie)
            await send(message)

        refusal = None
        if host_of(request) not in self.hosts:
            # DNS rebinding: a foreign name pointed at this address must not reach the pages.
            refusal = PageError(400, "Неизвестный адрес сервера",
                                f"Сервер не отвечает на имя «{request.headers.get('host', '')[:100]}».",
                                "Откройте адрес, который указан в письме, или добавьте имя в NOK_ALLOWED_HOSTS.")
        elif request.method not in SAFE_METHODS:
            try:
                check_origin(request)
            except PageError as exc:
                refusal = exc
        if refusal is not None:
            await error_response(request, refusal)(scope, receive, send_headed)
            return
        replaced = False

        async def send_checked(message) -> None:  # noqa: ANN001
            # FastAPI answers 400 when reading a form fails: a body over the limit is a 413.
            nonlocal replaced
            if message["type"] == "http.response.start" and state.get("body_too_large"):
                replaced = True
                await error_response(request, too_large(state["body_too_large"]))(scope, receive, send_headed)
                return
            if not replaced:
                await send_headed(message)

        await self.app(scope, receive, send_checked)


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
    PageError raised then reaches the app's handler, and `Guard` turns FastAPI's 400 for a
    form it could not read into the 413)."""

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
