"""Personal upload links: a token per (plan, person), derived from the store's secret.

Derived (HMAC), not stored: the link in every email for the same person and plan is the
same, and the web app can check it without a table. Rotating NOK_SECRET revokes them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


def secret(home: Path) -> bytes:
    if env := os.environ.get("NOK_SECRET"):
        return env.encode()
    path = home / "secret.key"
    if not path.exists():
        _create_secret(path)
    return path.read_text().strip().encode()


def _create_secret(path: Path) -> None:
    # Two processes may start at once: each writes a whole key to its own file and links
    # it in place; os.link fails if the key exists, so the first one wins and no reader
    # ever sees a half-written key.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def upload_token(key: bytes, plan_id: str, party_id: str) -> str:
    digest = hmac.new(key, f"upload:{plan_id}:{party_id}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def upload_link(base_url: str, key: bytes, plan_id: str, party_id: str) -> str:
    return f"{base_url.rstrip('/')}/u/{plan_id}/{party_id}/{upload_token(key, plan_id, party_id)}"
