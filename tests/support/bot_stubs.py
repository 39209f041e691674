"""Local stand-ins for the Telegram Bot API and the MAX bot API (platform-api), speaking their
HTTP shapes, each a real uvicorn server on a free port in a thread of the test process:

    with telegram_stub() as tg:            # tg.api_url, tg.token
        tg.start(chat_id=42, payload=tok)  # a person opens the deep link: «/start <tok>»
        tg.fail("sendMessage", 429, retry_after=3)
        ...
        tg.wait_sent(lambda m: m.chat_id == "42")

Programmable: `start` / `write` push incoming updates; `fail(method, status)` queues a fault for
the next call of a method (429 with retry_after, 400, 401, 500, or "hang": a black hole that
never answers); `block(chat_id)` makes every send to that chat a 403 (the person blocked the bot);
`refused_url()` is an address where nothing listens. Every request is recorded (`requests`:
method, path, query, headers, body) and every message sent (`sent`).

Telegram: https://core.telegram.org/bots/api (token in the path: /bot<token>/<method>).
MAX: https://dev.max.ru/docs-api (token only in the Authorization header; a token in the query
is refused with 401, as the real API does since 2026)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TELEGRAM_TOKEN = "123456789:AAtest-telegram-token-SECRET"
MAX_TOKEN = "max-test-token-SECRET-0123456789"
TELEGRAM_TEXT_MAX = 4096
MAX_TEXT_MAX = 4000


@dataclass(frozen=True)
class Recorded:
    """One request as the stub got it."""

    method: str
    path: str
    url: str  # path and query, as sent
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    params: dict[str, Any]  # query, form and JSON body merged (Telegram takes any of them)


@dataclass(frozen=True)
class Sent:
    """A message the bot sent: to which chat, what, with which link button."""

    chat_id: str
    text: str
    button: tuple[str, str] | None  # (label, url) of the first link button
    raw: dict[str, Any]


@dataclass
class _Fault:
    status: int | str  # an HTTP status, or "hang"
    retry_after: int | None = None
    description: str | None = None


@dataclass
class _Stub:
    token: str
    username: str
    api_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    _updates: list[tuple[int, dict]] = field(default_factory=list)
    _confirmed: int = 0  # updates below this id are dropped (Telegram offset / MAX marker)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _blocked: set[str] = field(default_factory=set)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: bool = False

    # --- programming the stub (from the test's thread) ---

    def fail(self, method: str, status: int | str, *, retry_after: int | None = None, times: int = 1,
             description: str | None = None) -> None:
        """The next `times` calls of `method` (e.g. "sendMessage", "getUpdates"; MAX: "messages",
        "updates", "me") get this error; status "hang" never answers (until the stub stops)."""
        with self._lock:
            self._faults.setdefault(method, []).extend(_Fault(status, retry_after, description) for _ in range(times))

    def block(self, chat_id: int | str) -> None:
        """The person in this chat blocked the bot: every send there is a 403."""
        with self._lock:
            self._blocked.add(str(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(str(chat_id))

    def requests_to(self, method: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/" + method)]

    def wait_sent(self, predicate: Callable[[Sent], bool] = lambda m: True, timeout: float = 30) -> Sent:
        """The first sent message that matches, waiting for it (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = next((m for m in self.sent if predicate(m)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching message sent in {timeout} s; sent: {self.sent!r}")
            time.sleep(0.05)

    def pending_updates(self) -> int:
        """Updates pushed and not yet confirmed by the poller's offset / marker."""
        with self._lock:
            return sum(1 for uid, _ in self._updates if uid >= self._confirmed)

    def _push(self, make: Callable[[int], dict]) -> int:
        with self._lock:
            uid = next(self._ids)
            self._updates.append((uid, make(uid)))
            return uid

    # --- serving (in the server's thread) ---

    async def _record(self, request: Request) -> Recorded:
        body = await request.body()
        params: dict[str, Any] = dict(request.query_params)
        ctype = request.headers.get("content-type", "")
        if body and "json" in ctype:
            with contextlib.suppress(ValueError):
                loaded = json.loads(body)
                if isinstance(loaded, dict):
                    params.update(loaded)
        elif body and ("form" in ctype):
            params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        url = request.url.path + (("?" + request.url.query) if request.url.query else "")
        recorded = Recorded(request.method, request.url.path, url, dict(request.query_params),
                            {k.lower(): v for k, v in request.headers.items()}, body, params)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.pop(0) if queue else None

    async def _hang(self) -> None:
        while not self._closing:
            await asyncio.sleep(0.05)

    async def _wait_updates(self, timeout: float) -> list[tuple[int, dict]]:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                ready = [(uid, u) for uid, u in self._updates if uid >= self._confirmed]
            if ready or time.monotonic() >= deadline or self._closing:
                return ready
            await asyncio.sleep(0.05)

    def _confirm(self, below: int) -> None:
        with self._lock:
            self._confirmed = max(self._confirmed, below)
            self._updates = [(uid, u) for uid, u in self._updates if uid >= self._confirmed]


class TelegramStub(_Stub):
    """The Telegram Bot API: /bot<token>/<method>, {"ok": true, "result": …} or an error."""

    def start(self, chat_id: int | str, payload: str, *, user_id: int | str | None = None) -> int:
        """A person opened t.me/<bot>?start=<payload> and pressed «Start»: the bot gets «/start <payload>»."""
        return self.write(chat_id, f"/start {payload}".rstrip(), user_id=user_id)

    def write(self, chat_id: int | str, text: str, *, user_id: int | str | None = None,
              first_name: str = "Мария") -> int:
        """A person writes `text` to the bot in a private chat."""
        user = int(user_id if user_id is not None else chat_id)

        def make(uid: int) -> dict:
            message = {"message_id": uid, "from": {"id": user, "is_bot": False, "first_name": first_name,
                                                   "language_code": "ru"},
                       "chat": {"id": int(chat_id), "type": "private", "first_name": first_name},
                       "date": int(time.time()), "text": text}
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            return {"update_id": uid, "message": message}
        return self._push(make)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])])

    async def _handle(self, request: Request) -> JSONResponse:
        recorded = await self._record(request)
        if request.path_params["token"] != self.token:
            return _tg_error(401, "Unauthorized")
        method = request.path_params["method"]
        fault = self._fault(method)
        if fault is not None:
            if fault.status == "hang":
                await self._hang()
                return _tg_error(502, "Bad Gateway")
            return _tg_error(int(fault.status), fault.description or _TG_DESCRIPTIONS.get(int(fault.status), "Error"),
                             fault.retry_after)
        params = recorded.params
        if method == "getMe":
            return _tg_ok({"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "НОК напоминания",
                           "username": self.username, "can_join_groups": False,
                           "can_read_all_group_messages": False, "supports_inline_queries": False})
        if method == "deleteWebhook":
            return _tg_ok(True, description="Webhook is already deleted")
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            if offset:
                self._confirm(offset)
            ready = await self._wait_updates(float(params.get("timeout") or 0))
            limit = int(params.get("limit") or 100)
            return _tg_ok([u for _, u in ready[:limit]])
        if method == "sendMessage":
            return self._send(params)
        return _tg_error(404, "Not Found")

    def _send(self, params: dict[str, Any]) -> JSONResponse:
        chat_id, text = str(params.get("chat_id") or ""), params.get("text")
        if not chat_id:
            return _tg_error(400, "Bad Request: chat_id is empty")
        if not text:
            return _tg_error(400, "Bad Request: message text is empty")
        if len(text) > TELEGRAM_TEXT_MAX:
            return _tg_error(400, "Bad Request: message is too long")
        with self._lock:
            blocked = chat_id in self._blocked
        if blocked:
            return _tg_error(403, "Forbidden: bot was blocked by the user")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                return _tg_error(400, "Bad Request: can't parse reply keyboard markup JSON object")
        button = None
        if markup:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not rows or not all(isinstance(b, dict) and b.get("text") and b.get("url") for row in rows for b in row):
                return _tg_error(400, "Bad Request: can't parse inline keyboard button")
            button = (rows[0][0]["text"], rows[0][0]["url"])
        with self._lock:
            message_id = next(self._ids)
            self.sent.append(Sent(chat_id, text, button, dict(params)))
        result = {"message_id": message_id, "from": {"id": int(self.token.split(":")[0]), "is_bot": True,
                                                     "first_name": "НОК напоминания", "username": self.username},
                  "chat": {"id": int(chat_id), "type": "private"}, "date": int(time.time()), "text": text}
        if markup:
            result["reply_markup"] = markup
        return _tg_ok(result)


_TG_DESCRIPTIONS = {400: "Bad Request: chat not found", 401: "Unauthorized",
                    403: "Forbidden: bot was blocked by the user", 404: "Not Found",
                    429: "Too Many Requests: retry after {}", 500: "Internal Server Error",
                    502: "Bad Gateway"}


def _tg_ok(result: Any, description: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return JSONResponse(body)


def _tg_error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    if code == 429:
        retry_after = retry_after if retry_after is not None else 1
        description = description.format(retry_after)
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=code)


@dataclass
class MaxStub(_Stub):
    """The MAX bot API (platform-api): GET /me, GET /updates, POST /messages; the token in the
    Authorization header only."""

    user_id: int = 900001
    webhooks: list[str] = field(default_factory=list)  # no updates by polling while one is subscribed

    def start(self, chat_id: int | str, payload: str, *, user_id: int | str | None = None) -> int:
        """A person opened max.ru/<bot>?start=<payload> and pressed «Начать»: a bot_started update."""
        user = int(user_id if user_id is not None else chat_id) + 1_000_000
        return self._push(lambda uid: {"update_type": "bot_started", "timestamp": _ms(), "chat_id": int(chat_id),
                                       "user": _max_user(user), "payload": payload, "user_locale": "ru"})

    def write(self, chat_id: int | str, text: str, *, user_id: int | str | None = None) -> int:
        """A person writes `text` to the bot in their dialog with it."""
        user = int(user_id if user_id is not None else chat_id) + 1_000_000
        return self._push(lambda uid: {
            "update_type": "message_created", "timestamp": _ms(), "user_locale": "ru",
            "message": {"sender": _max_user(user),
                        "recipient": {"chat_id": int(chat_id), "chat_type": "dialog", "user_id": self.user_id},
                        "timestamp": _ms(), "body": {"mid": f"mid.{uid:016x}", "seq": uid, "text": text}}})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/me", self._route("me"), methods=["GET"]),
                                 Route("/updates", self._route("updates"), methods=["GET"]),
                                 Route("/messages", self._route("messages"), methods=["POST"]),
                                 Route("/subscriptions", self._route("subscriptions"), methods=["GET", "DELETE"])])

    def _route(self, method: str) -> Callable:
        async def handle(request: Request) -> JSONResponse:
            recorded = await self._record(request)
            if "access_token" in recorded.query or recorded.headers.get("authorization") != self.token:
                return _max_error(401, "verify.token", "Invalid access_token")
            fault = self._fault(method)
            if fault is not None:
                if fault.status == "hang":
                    await self._hang()
                    return _max_error(502, "internal", "Bad Gateway")
                return _max_fault(fault)
            if method == "me":
                return JSONResponse({"user_id": self.user_id, "name": "НОК напоминания", "username": self.username,
                                     "is_bot": True, "last_activity_time": _ms()})
            if method == "updates":
                return await self._updates_answer(recorded.query)
            if method == "subscriptions":
                return self._subscriptions_answer(recorded)
            return self._send(recorded)
        return handle

    async def _updates_answer(self, query: dict[str, str]) -> JSONResponse:
        marker = query.get("marker")
        if marker:
            self._confirm(int(marker))
        ready = await self._wait_updates(float(query.get("timeout") or 30))
        ready = ready[:int(query.get("limit") or 100)]
        with self._lock:
            next_marker = ready[-1][0] + 1 if ready else max(self._confirmed, 1)
        return JSONResponse({"updates": [u for _, u in ready], "marker": next_marker})

    def _subscriptions_answer(self, recorded: Recorded) -> JSONResponse:
        """GET: the webhooks (`webhooks`, set by a test); DELETE ?url=: drops one."""
        if recorded.method == "GET":
            return JSONResponse({"subscriptions": [{"url": u, "time": _ms()} for u in self.webhooks]})
        with self._lock:
            if recorded.query.get("url") in self.webhooks:
                self.webhooks.remove(recorded.query["url"])
                return JSONResponse({"success": True})
        return JSONResponse({"success": False, "message": "subscription not found"})

    def _send(self, recorded: Recorded) -> JSONResponse:
        chat_id = recorded.query.get("chat_id") or recorded.query.get("user_id")
        try:
            body = json.loads(recorded.body or b"{}")
        except ValueError:
            return _max_error(400, "proto.payload", "Failed to parse request body")
        if not chat_id:
            return _max_error(400, "proto.payload", "chat_id or user_id is required")
        text = body.get("text") or ""
        if len(text) > MAX_TEXT_MAX:
            return _max_error(400, "proto.payload", f"text: size must be between 0 and {MAX_TEXT_MAX}")
        if body.get("format") not in (None, "markdown", "html"):
            return _max_error(400, "proto.payload", "format: unknown value")
        with self._lock:
            blocked = chat_id in self._blocked
        if blocked:
            return _max_error(403, "chat.denied", "chat.denied: dialog.suspended")
        button = None
        for attachment in body.get("attachments") or []:
            if attachment.get("type") != "inline_keyboard":
                continue
            rows = (attachment.get("payload") or {}).get("buttons") or []
            if not rows or not all(b.get("type") == "link" and b.get("text") and b.get("url") for r in rows for b in r):
                return _max_error(400, "proto.payload", "attachments: invalid inline_keyboard")
            button = button or (rows[0][0]["text"], rows[0][0]["url"])
        with self._lock:
            seq = next(self._ids)
            self.sent.append(Sent(str(chat_id), text, button, body))
        return JSONResponse({"message": {
            "sender": _max_user(self.user_id, self.username, bot=True),
            "recipient": {"chat_id": int(chat_id), "chat_type": "dialog"}, "timestamp": _ms(),
            "body": {"mid": f"mid.{seq:016x}", "seq": seq, "text": text,
                     "attachments": body.get("attachments") or []}}})


def _ms() -> int:
    return int(time.time() * 1000)


def _max_user(user_id: int, username: str | None = None, bot: bool = False) -> dict:
    user = {"user_id": user_id, "name": "НОК напоминания" if bot else "Мария", "is_bot": bot,
            "last_activity_time": _ms()}
    if username:
        user["username"] = username
    return user


def _max_fault(fault: _Fault) -> JSONResponse:
    status = int(fault.status)
    code = {400: "proto.payload", 401: "verify.token", 403: "chat.denied", 404: "not.found",
            429: "too.many.requests", 500: "internal", 503: "service.unavailable"}.get(status, "error")
    response = _max_error(status, code, fault.description or code)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


def _max_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


@contextlib.contextmanager
def _serving(stub: _Stub, tls: tuple[str, str] | None = None) -> Iterator[None]:
    """`tls`: (certificate, key) PEM files — the stub then speaks HTTPS, as the real APIs do."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    stub.api_url = f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(stub.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=2,
                            loop="asyncio", http="h11", ssl_certfile=tls[0] if tls else None,
                            ssl_keyfile=tls[1] if tls else None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the bot stub did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        stub._closing = True
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def telegram_stub(token: str = TELEGRAM_TOKEN, username: str = "nok_test_bot") -> Iterator[TelegramStub]:
    """A Telegram Bot API server; point a bot at `stub.api_url` with `stub.token`."""
    stub = TelegramStub(token=token, username=username)
    with _serving(stub):
        yield stub


@contextlib.contextmanager
def max_stub(token: str = MAX_TOKEN, username: str = "nok_test_max_bot",
             tls: tuple[str, str] | None = None) -> Iterator[MaxStub]:
    """A MAX bot API server; point a bot at `stub.api_url` with `stub.token`."""
    stub = MaxStub(token=token, username=username)
    with _serving(stub, tls):
        yield stub


def refused_url() -> str:
    """An address where nothing listens: a connection there is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
