"""Coordinators' sign-in: accounts (argon2 passwords), sessions, one-time login links and
API tokens. Every secret is random, shown once and stored as its SHA-256."""

from __future__ import annotations

import datetime as dt
import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select, text, update
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.services.commands import audit
from nok_workflow.store.db import write_session
from nok_workflow.store.fresh import remembered
from nok_workflow.store.models import Account, ApiToken, LoginLink, Party, Plan, WebSession
from nok_workflow.tokens import digest, new_token

MIN_PASSWORD = 10
_HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory profile: t=3, m=64 MiB, p=4
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@functools.lru_cache(maxsize=2)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verifying against this when the login is unknown costs the same time as a real check.
    Made at the first sign-in, not at import (~0.2 s of CPU that most commands never need)."""
    return hasher.hash("nok-workflow: no such account")


def _fail(where: str, message: str) -> InputError:
    return InputError([Problem(where, 0, 0, message)])


class AlreadySetUp(InputError):
    """The first account was asked for, but an account exists already (the first run is over)."""


# Accounts are added one at a time: the first-run page's «no account yet» holds until the
# insert commits. On SQLite the write lock (BEGIN IMMEDIATE) already makes writers take turns.
_ACCOUNTS_LOCK = 0x6E6F6B61  # "noka"


def add(engine: Engine, *, login: str, name: str, email: str | None, password: str | None,
        now: dt.datetime, first: bool = False) -> Account:
    """A coordinator account. With `first`, only while the store has none at all (the
    first-run page): of two such requests at once exactly one is added, the other is
    refused with `AlreadySetUp`."""
    if not _LOGIN.match(login):
        raise _fail("login", f"«{login}» — не годится как вход: строчные латинские буквы, цифры, _ . -")
    if password is not None:
        check_password(password)
    if first:
        check_email(email)
    password_hash = _HASHER.hash(password) if password is not None else None  # ~50 ms: outside the lock
    with write_session(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ACCOUNTS_LOCK})
        if first and session.execute(select(Account.login).limit(1)).first() is not None:
            raise AlreadySetUp([Problem("login", 0, 0, "учётная запись координатора уже создана: войдите")])
        if session.get(Account, login) is not None:
            raise _fail("login", f"учётная запись «{login}» уже есть (сменить пароль: nok user password)")
        account = Account(login=login, name=name.strip() or login, email=email, active=True, created_at=now,
                          password_hash=password_hash)
        session.add(account)
        audit.record(session, actor=login, action="account.add", plan_id=None, at=now, details={"login": login})
        session.flush()
        session.expunge(account)
        return account


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(email: str | None) -> None:
    if not email or not _EMAIL.match(email):
        raise _fail("email", f"«{email or ''}» — не похоже на адрес электронной почты (нужен вид имя@домен.ru)")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise _fail("пароль", f"пароль короче {MIN_PASSWORD} символов")


def set_password(engine: Engine, *, login: str, password: str, now: dt.datetime) -> None:
    check_password(password)
    with write_session(engine) as session:
        account = session.get(Account, login)
        if account is None:
            raise _fail("login", f"учётной записи «{login}» нет (nok user list)")
        account.password_hash = _HASHER.hash(password)
        session.add(account)
        # A new password ends every session: whoever knew the old one is signed out.
        session.execute(delete(WebSession).where(WebSession.login == login))
        audit.record(session, actor=login, action="account.password", plan_id=None, at=now, details={})


def accounts(engine: Engine) -> list[Account]:
    with Session(engine) as session:
        return list(session.execute(select(Account).order_by(Account.login)).scalars())


def any_account(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.execute(select(Account.login).where(Account.active).limit(1)).first() is not None


def account_active(engine: Engine, login: str) -> bool:
    """Whether `login` is an account that may still act (a coordinator's API token names it)."""
    with Session(engine) as session:
        account = session.get(Account, login)
        return account is not None and account.active


def verify_password(engine: Engine, login: str, password: str) -> Account | None:
    with Session(engine) as session:
        account = session.get(Account, login.strip().lower())
    known = bool(account and account.active and account.password_hash)
    stored = account.password_hash if known else _dummy_hash(_HASHER)
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return account if known else None


def start_session(engine: Engine, login: str, now: dt.datetime, hours: int) -> str:
    token = new_token()
    with write_session(engine) as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))  # keep the table small
        session.add(WebSession(token_hash=digest(token), login=login, created_at=now,
                               expires_at=now + dt.timedelta(hours=hours)))
    return token


def session_account(engine: Engine, token: str | None, now: dt.datetime) -> Account | None:
    found = session_until(engine, token, now)
    return found[0] if found else None


def session_until(engine: Engine, token: str | None, now: dt.datetime) -> tuple[Account, dt.datetime] | None:
    """The signed-in account and when its session ends."""
    if not token:
        return None
    with Session(engine) as session:
        row = session.execute(select(Account, WebSession.expires_at)
                              .join(WebSession, WebSession.login == Account.login)
                              .where(WebSession.token_hash == digest(token), WebSession.expires_at > now,
                                     Account.active)).first()
        if row is None:
            return None
        session.expunge(row[0])
        return row[0], row[1]


# A busy page reloaded by many tabs need not ask the store for the same session each time:
# the answer is reused until this process writes (a sign-out, a new password) or
# SESSION_RECHECK seconds pass (a new password set by `nok user password` elsewhere).
SESSION_RECHECK = 5.0


def signed_in(engine: Engine, token: str | None, now: dt.datetime) -> Account | None:
    """The account a session cookie signs in at `now`, as every page view asks it."""
    found = remembered(("session", str(engine.url), token), SESSION_RECHECK,
                       lambda: session_until(engine, token, now)) if token else None
    return found[0] if found and now < found[1] else None


def end_session(engine: Engine, token: str | None) -> None:
    if token:
        with write_session(engine) as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def create_login_link(engine: Engine, login: str, now: dt.datetime, minutes: int) -> tuple[Account, str] | None:
    """A one-time link for an account with an email; None for anyone else (the page says
    the same either way: it must not tell which logins exist)."""
    with write_session(engine) as session:
        account = session.get(Account, login.strip().lower())
        if account is None or not account.active or not account.email:
            return None
        token = new_token()
        session.add(LoginLink(token_hash=digest(token), login=account.login,
                              expires_at=now + dt.timedelta(minutes=minutes)))
        session.expunge(account)
        return account, token


def use_login_link(engine: Engine, token: str, now: dt.datetime) -> str | None:
    """The login the link signs in, once; None when unknown, used or expired."""
    with write_session(engine) as session:
        used = session.execute(update(LoginLink).where(LoginLink.token_hash == digest(token),
                                                       LoginLink.used_at.is_(None), LoginLink.expires_at > now)
                               .values(used_at=now).returning(LoginLink.login)).scalar()
        return used


_COORDINATES = text("SELECT 1 FROM plan WHERE id = :plan AND coordinator = :login")


def coordinates(engine: Engine, login: str, plan_id: str) -> bool:
    """Whether `login` coordinates the plan (asked on every page view: plain SQL, built once)."""
    with engine.connect() as conn:
        return conn.execute(_COORDINATES, {"plan": plan_id, "login": login}).first() is not None


def coordinates_recently(engine: Engine, login: str, plan_id: str) -> bool:
    """`coordinates`, reused for a second while this process writes nothing (every page of a
    plan asks it)."""
    return remembered(("coordinates", str(engine.url), login, plan_id), 1.0,
                      lambda: coordinates(engine, login, plan_id))


def coordinated_plans(engine: Engine, login: str) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(Plan.id).where(Plan.coordinator == login).order_by(Plan.id)).scalars())


# --- API tokens ---------------------------------------------------------------------------

def create_api_token(engine: Engine, *, name: str, actor: str, plan_id: str | None, by: str,
                     now: dt.datetime) -> str:
    """A token acting as `actor` (a party of `plan_id`, or a coordinator's login for all of
    their plans). The token is returned once; only its hash is kept."""
    if not name.strip():
        raise _fail("--name", "у токена должно быть имя: кто им пользуется (напр. «сайт школы 12»)")
    with write_session(engine) as session:
        if plan_id is not None:
            if session.get(Plan, plan_id) is None:
                raise _fail("--plan", f"план «{plan_id}» не загружен (см. nok plan list)")
            if session.get(Party, (plan_id, actor)) is None:
                raise _fail("--as", f"«{actor}» нет в справочнике плана «{plan_id}»")
        elif session.get(Account, actor) is None:
            raise _fail("--as", f"без --plan токен действует от имени координатора: учётной записи «{actor}» "
                                "нет (nok user add)")
        token = new_token()
        session.add(ApiToken(token_hash=digest(token), name=name.strip(), plan_id=plan_id, actor=actor,
                             created_at=now))
        audit.record(session, actor=by, action="api_token.create", plan_id=plan_id, at=now,
                     details={"name": name.strip(), "as": actor})
        return token


def api_token(engine: Engine, token: str | None) -> ApiToken | None:
    if not token:
        return None
    with Session(engine) as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest(token),
                                                     ApiToken.revoked_at.is_(None))).scalar()
        if row is not None:
            session.expunge(row)
        return row


def api_tokens(engine: Engine) -> list[ApiToken]:
    with Session(engine) as session:
        return list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())


def revoke_api_token(engine: Engine, token_id: int, by: str, now: dt.datetime) -> None:
    with write_session(engine) as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            raise _fail("token", f"действующего токена №{token_id} нет (nok token list)")
        row.revoked_at = now
        session.add(row)
        audit.record(session, actor=by, action="api_token.revoke", plan_id=row.plan_id, at=now,
                     details={"id": token_id, "name": row.name})
