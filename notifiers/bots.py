"""Thin clients of two bot APIs — Telegram (https://core.telegram.org/bots/api) and MAX
(https://dev.max.ru/docs-api) — with the four calls nok needs: who the bot is, the updates
(long polling), dropping a webhook, and sending one message with an optional link button.

Both over httpx (docs/messengers.md says why not aiogram / python-telegram-bot / maxapi).
A send never raises: it returns an Outcome — 200 ok; 429 retry with the server's retry_after;
403 failed for good, `blocked` (the person blocked the bot); 5xx and 401 retry; another 4xx
failed for good; no answer (refused, timeout) unreachable. The other calls raise BotError.

A Telegram bot's token is part of every URL (/bot<token>/…): it never reaches an exception,
an Outcome or a log line (httpx's own request log included); a MAX token travels only in the
Authorization header."""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from notifiers.base import Outcome

_TELEGRAM_TOKEN_IN_PATH = re.compile(r"/bot[^/\s\"']+")
SEND_TIMEOUT = 15.0  # seconds for one send, connection included
POLL_SLACK = 10.0  # seconds a long poll may take beyond its own timeout before it counts as lost


class _HideTelegramTokens(logging.Filter):
    """httpx logs every request's URL (INFO): the token in a Telegram URL is cut out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_TELEGRAM_TOKEN_IN_PATH.sub("/bot<token>", str(a)) if "/bot" in str(a) else a
                                for a in (record.args if isinstance(record.args, tuple) else (record.args,)))
        if isinstance(record.msg, str) and "/bot" in record.msg:
            record.msg = _TELEGRAM_TOKEN_IN_PATH.sub("/bot<token>", record.msg)
        return True


for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _HideTelegramTokens) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_HideTelegramTokens())


class BotError(Exception):
    """A call other than a send failed: the message names the bot API and the method, never the token."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status  # None: no answer at all
        self.retry_after = retry_after


@dataclass(frozen=True)
class Update:
    """What a person did in a chat with the bot, as far as nok cares."""

    chat_id: str
    user_id: str | None
    text: str  # what they wrote ("" for a MAX bot_started)
    start: str | None  # the start parameter: «/start X» in Telegram, bot_started's payload in MAX; None: not a start


class _Bot:
    name = ""

    def __init__(self, token: str, api_url: str, *, timeout: float = SEND_TIMEOUT,
                 ca_file: str | None = None) -> None:
        if not token:
            raise ValueError(f"{self.name}: нет токена бота")
        self._token = token
        self._api_url = api_url.rstrip("/")
        self._timeout = timeout
        self._ca_file = ca_file
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._api_url!r})"

    async def __aenter__(self) -> _Bot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # The system's trusted CAs (where an administrator adds the Russian Trusted Root CA that
            # MAX's certificate needs), plus `ca_file` if given.
            verify = ssl.create_default_context()
            if self._ca_file:
                verify.load_verify_locations(self._ca_file)
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                                             follow_redirects=False, trust_env=False, verify=verify)
        return self._client

    def _clean(self, text: str) -> str:
        """`text` with the token cut out wherever it might have crept in."""
        return text.replace(self._token, "<token>")

    async def _request(self, http_method: str, method: str, url: str, *, timeout: float | None = None,
                       **kwargs: Any) -> httpx.Response | str:
        """The response, or why there was none (a string without the token)."""
        try:
            extra = {"timeout": httpx.Timeout(timeout, connect=min(timeout, 5.0))} if timeout else {}
            return await self._http().request(http_method, url, **kwargs, **extra)
        except httpx.TimeoutException:
            return f"{self.name} {method}: нет ответа (таймаут)"
        except httpx.HTTPError as e:
            return self._clean(f"{self.name} {method}: нет связи ({type(e).__name__}: {e})")

    def _text_of(self, response: httpx.Response, description: str) -> str:
        return self._clean(f"{response.status_code} {description}".strip())[:500]

    def _outcome(self, response: httpx.Response | str, description: str, retry_after: float | None,
                 sent_id: str) -> Outcome:
        if isinstance(response, str):
            return Outcome.unreachable(response)
        text = self._text_of(response, description)
        status = response.status_code
        if status == 200:
            return Outcome.ok(f"{self.name}: сообщение {sent_id}")
        if status == 429:
            return Outcome(False, False, text, retry_after=retry_after)
        if status == 403:
            return Outcome(False, True, text, blocked=True)
        if status >= 500 or status == 401:  # the server, or the bot's token: not this message
            return Outcome.retry(text)
        return Outcome.fail(text)

    def _raise(self, method: str, response: httpx.Response | str, description: str = "",
               retry_after: float | None = None) -> None:
        if isinstance(response, str):
            raise BotError(response)
        raise BotError(self._clean(f"{self.name} {method}: {self._text_of(response, description)}"),
                       status=response.status_code, retry_after=retry_after)


class TelegramBot(_Bot):
    name = "Telegram"

    def _url(self, method: str) -> str:
        return f"{self._api_url}/bot{self._token}/{method}"

    async def _call(self, method: str, params: dict[str, Any], *, timeout: float | None = None) -> Any:
        response = await self._request("POST", method, self._url(method), json=params, timeout=timeout)
        body = _json(response)
        if isinstance(response, str) or response.status_code != 200 or not body.get("ok"):
            self._raise(method, response, str(body.get("description") or ""), _retry_after(body))
        return body.get("result")

    async def get_me(self) -> str:
        """The bot's username (for t.me/<username>)."""
        result = await self._call("getMe", {})
        return str((result or {}).get("username") or "")

    async def delete_webhook(self) -> None:
        """Long polling works only without a webhook."""
        await self._call("deleteWebhook", {"drop_pending_updates": False})

    async def get_updates(self, offset: str | None, timeout: float) -> tuple[list[Update], str | None]:
        """Updates from `offset` on (those before it are confirmed and dropped by Telegram),
        waiting up to `timeout` s for one; and the offset to ask with next time."""
        params: dict[str, Any] = {"timeout": int(timeout), "allowed_updates": ["message"]}
        if offset:
            params["offset"] = int(offset)
        result = await self._call("getUpdates", params, timeout=timeout + POLL_SLACK) or []
        updates = []
        next_offset = offset
        for raw in result:
            next_offset = str(int(raw["update_id"]) + 1)
            message = raw.get("message") or {}
            chat = message.get("chat") or {}
            if "id" not in chat:
                continue
            text = str(message.get("text") or "")
            sender = (message.get("from") or {}).get("id")
            updates.append(Update(str(chat["id"]), None if sender is None else str(sender), text, _start_of(text)))
        return updates, next_offset

    async def send(self, chat_id: str, text: str, button: tuple[str, str] | None = None, *,
                   format: str | None = None) -> Outcome:
        """One message; `format` "html" or "markdown" (MarkdownV2), else plain text."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        if format:
            params["parse_mode"] = {"html": "HTML", "markdown": "MarkdownV2"}[format]
        if button:
            params["reply_markup"] = {"inline_keyboard": [[{"text": button[0], "url": button[1]}]]}
        response = await self._request("POST", "sendMessage", self._url("sendMessage"), json=params)
        body = _json(response)
        sent_id = str((body.get("result") or {}).get("message_id", "")) if isinstance(body.get("result"), dict) else ""
        return self._outcome(response, str(body.get("description") or ""), _retry_after(body), sent_id)


class MaxBot(_Bot):
    name = "MAX"

    def _http(self) -> httpx.AsyncClient:
        client = super()._http()
        client.headers["Authorization"] = self._token  # the only place the token goes
        return client

    async def _call(self, http_method: str, method: str, path: str, *, timeout: float | None = None,
                    **kwargs: Any) -> dict:
        response = await self._request(http_method, method, self._api_url + path, timeout=timeout, **kwargs)
        body = _json(response)
        if isinstance(response, str) or response.status_code != 200:
            self._raise(method, response, _max_description(body), _header_retry_after(response))
        return body

    async def get_me(self) -> str:
        """The bot's username (for max.ru/<username>)."""
        me = await self._call("GET", "me", "/me")
        return str(me.get("username") or "")

    async def delete_webhook(self) -> None:
        """Long polling works only without webhook subscriptions: drops each."""
        subscriptions = await self._call("GET", "subscriptions", "/subscriptions")
        for subscription in subscriptions.get("subscriptions") or []:
            await self._call("DELETE", "subscriptions", "/subscriptions", params={"url": subscription.get("url", "")})

    async def get_updates(self, offset: str | None, timeout: float) -> tuple[list[Update], str | None]:
        """Updates after marker `offset`, waiting up to `timeout` s; and the marker to ask with next."""
        params: dict[str, Any] = {"timeout": int(timeout), "limit": 100, "types": "message_created,bot_started"}
        if offset:
            params["marker"] = offset
        body = await self._call("GET", "updates", "/updates", params=params, timeout=timeout + POLL_SLACK)
        updates = []
        for raw in body.get("updates") or []:
            kind = raw.get("update_type")
            if kind == "bot_started" and raw.get("chat_id") is not None:
                user = (raw.get("user") or {}).get("user_id", raw.get("user_id"))
                updates.append(Update(str(raw["chat_id"]), None if user is None else str(user), "",
                                      str(raw.get("payload") or "")))
            elif kind == "message_created":
                message = raw.get("message") or {}
                chat = (message.get("recipient") or {}).get("chat_id")
                if chat is None:
                    continue
                text = str((message.get("body") or {}).get("text") or "")
                sender = (message.get("sender") or {}).get("user_id")
                updates.append(Update(str(chat), None if sender is None else str(sender), text, _start_of(text)))
        marker = body.get("marker")
        return updates, (str(marker) if marker is not None else offset)

    async def send(self, chat_id: str, text: str, button: tuple[str, str] | None = None, *,
                   format: str | None = None) -> Outcome:
        """One message to a chat; `format` "markdown" or "html", else plain text."""
        payload: dict[str, Any] = {"text": text, "notify": True}
        if format:
            payload["format"] = format
        if button:
            payload["attachments"] = [{"type": "inline_keyboard", "payload": {
                "buttons": [[{"type": "link", "text": button[0], "url": button[1]}]]}}]
        response = await self._request("POST", "messages", self._api_url + "/messages",
                                       params={"chat_id": chat_id}, json=payload)
        body = _json(response)
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        sent_id = str((message.get("body") or {}).get("mid", ""))
        return self._outcome(response, _max_description(body), _header_retry_after(response), sent_id)


def _json(response: httpx.Response | str) -> dict:
    if isinstance(response, str):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _start_of(text: str) -> str | None:
    """The start parameter of «/start X» (also «/start@bot X»); "" for a bare /start; None otherwise."""
    command, _, rest = text.strip().partition(" ")
    if command == "/start" or command.startswith("/start@"):
        return rest.strip()
    return None


def _retry_after(body: dict) -> float | None:
    value = (body.get("parameters") or {}).get("retry_after")
    return float(value) if isinstance(value, int | float) else None


def _header_retry_after(response: httpx.Response | str) -> float | None:
    if isinstance(response, str):
        return None
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _max_description(body: dict) -> str:
    return " ".join(str(body[k]) for k in ("code", "message") if body.get(k))
