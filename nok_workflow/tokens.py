"""Personal upload links: a token per (plan, person), derived from the store's secret.

Derived (HMAC), not stored: the link in every email for the same person and plan is the
same, and the web app checks it without a lookup of the token. A party's link is signed
with its revision (`nok link revoke` bumps it; services/commands/links.py); rotating NOK_SECRET
revokes them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from nok_workflow.problems import InputError, Problem


MIN_SECRET_BYTES = 32
_MAKE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'


def secret(home: Path) -> bytes:
    """The key upload links are signed with: NOK_SECRET, else NOK_HOME/secret.key (made on
    first use, 0600). A short key would let anyone compute every link: it is refused."""
    if env := os.environ.get("NOK_SECRET"):
        key = env.strip().encode()
        if len(key) < MIN_SECRET_BYTES:
            why = f"секрет короче {MIN_SECRET_BYTES} байт ({len(key)}): по нему можно подобрать ссылки"
            raise InputError([Problem("NOK_SECRET", 0, 0, f"{why}; новый ключ: {_MAKE}")])
        return key
    path = home / "secret.key"
    if not path.exists():
        _create_secret(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Readable by others: anyone on the machine could forge upload links. Repair, and say so.
        path.chmod(0o600)
        logging.getLogger("nok").warning("права файла ключа %s были %s, стали 0600 (доступ только владельцу)",
                                         path, oct(mode))
    key = path.read_text(encoding="utf-8", errors="replace").strip().encode()
    if len(key) < MIN_SECRET_BYTES:
        raise InputError([Problem(str(path), 0, 0, (
            f"ключ пуст или короче {MIN_SECRET_BYTES} байт ({len(key)}): удалите файл — nok создаст новый "
            f"(ссылки в уже отправленных письмах перестанут действовать) — или запишите в него {_MAKE}"))])
    return key


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


def upload_token(key: bytes, plan_id: str, party_id: str, revision: int = 0) -> str:
    # Revision 0 signs what links signed before revocation existed: those stay valid.
    message = f"upload:{plan_id}:{party_id}" + (f":{revision}" if revision else "")
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def upload_token_valid(key: bytes, plan_id: str, party_id: str, revision: int, token: str) -> bool:
    """Constant-time: how much of a forged token matches must not show in the answer's time."""
    expected = upload_token(key, plan_id, party_id, revision)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))


def upload_link(base_url: str, key: bytes, plan_id: str, party_id: str, revision: int = 0) -> str:
    token = upload_token(key, plan_id, party_id, revision)
    return f"{base_url.rstrip('/')}/u/{plan_id}/{party_id}/{token}"


def digest(token: str) -> str:
    """How a random bearer token (session, login link, API token) is stored: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


def run_token(key: bytes) -> str:
    """What `nok` commands on this machine send to ask `nok serve` for a run: derived from
    the store's key, which a web page elsewhere cannot know."""
    return hmac.new(key, b"serve-run", hashlib.sha256).hexdigest()
