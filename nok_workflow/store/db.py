"""Engines, sessions and schema migrations (Alembic, applied automatically on first use)."""

from __future__ import annotations

import ast
import itertools
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from nok_workflow.problems import InputError, Problem
from nok_workflow.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config


_MIGRATION_LOCK = 0x6E6F6B61  # "noka": one migration at a time per PostgreSQL database
_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_HEADER = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def _alembic_config() -> Config:
    # Alembic is imported only here and below: its import and its loading of every migration
    # cost more than a whole small command (`nok evidence submit`) on an up-to-date store.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "nok_workflow.store:migrations")
    return config


def _wal(cursor: sqlite3.Cursor, busy_ms: int) -> None:
    """Switch to WAL. On a fresh file several first users race for it, and SQLite answers
    "database is locked" at once instead of waiting for its busy timeout: wait here."""
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str, sqlite_busy_ms: int | None = None) -> Engine:
    if url.startswith("sqlite"):
        busy = sqlite_busy_ms if sqlite_busy_ms is not None else Settings().sqlite_busy_ms
        engine = create_engine(url, connect_args={"timeout": busy / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(busy)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _wal(cursor, busy)  # readers do not block the writer
            cursor.close()

        # pysqlite's own BEGIN handling is off so that `begin_immediate` below is ours.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def create_database(url: str) -> bool:
    """Create the PostgreSQL database the URL names if it is not there; True if created.
    (SQLite creates its file by itself.)"""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": target.database}).first() is not None:
                return False
            name = target.database.replace('"', '""')
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        admin.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _shipped_head() -> str | None:
    """The newest revision, read from the migration files' headers without Alembic; None when
    a file says something this reading does not follow (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        header = dict(_HEADER.findall(path.read_text(encoding="utf-8")))
        try:
            revision, down = ast.literal_eval(header["revision"]), ast.literal_eval(header["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        down = (down,) if isinstance(down, str) else () if down is None else down
        if not isinstance(revision, str) or not isinstance(down, tuple | list) or not all(
                isinstance(d, str) for d in down):
            return None
        revisions.add(revision)
        parents.update(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revisions(engine: Engine) -> set[str]:
    """What alembic_version says (read as Alembic reads it: the default schema)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest revision; True if anything was applied.

    Under a lock — PostgreSQL's advisory lock, SQLite's write lock (BEGIN IMMEDIATE) — so
    that two first commands on a fresh store take turns: the second waits, finds the schema
    current and applies nothing, instead of failing on a half-created table.
    """
    shipped = _shipped_head()
    if shipped is not None and _stored_revisions(engine) == {shipped}:
        return False  # the common case, decided without importing Alembic
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    if current_revision(engine) == head:
        return False
    config = _alembic_config()
    with write_connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if MigrationContext.configure(conn).get_current_revision() == head:
            return False  # another process migrated while we waited
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True


def connect(url: str) -> Engine:
    """An engine on a migrated schema, or a clear error when the database is unreachable."""
    try:
        engine = make_engine(url)
    except (ArgumentError, NoSuchModuleError):
        raise InputError([Problem("NOK_DATABASE_URL", 0, 0, (
            f"«{url}» — не адрес базы данных; ожидается postgresql+psycopg://пользователь@сервер/база "
            "или sqlite:///путь/к/файлу.db (пусто — встроенный SQLite в NOK_HOME)"))]) from None
    for attempt in range(3):
        try:
            upgrade(engine)
            return engine
        except OperationalError as exc:
            if attempt == 2:
                where = url.split("@")[-1]
                raise InputError([Problem("NOK_DATABASE_URL", 0, 0,
                                          f"база данных недоступна ({where}): {exc.orig}")]) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


_writes = itertools.count(1)
_generation = 0


def write_generation() -> int:
    """How many write transactions this process has ended (see store/fresh.py)."""
    return _generation


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that takes the write lock at once on SQLite (BEGIN
    IMMEDIATE), so two writers queue instead of failing half-way; commits on success."""
    global _generation
    with engine.connect() as conn:
        conn.info["immediate"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop("immediate", None)
            _generation = next(_writes)  # committed or not: a reader may look again


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """An ORM session over `write_connection`; flushed and committed on success."""
    with write_connection(engine) as conn, Session(bind=conn) as session:
        yield session
        session.flush()
