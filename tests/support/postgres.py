"""The machine's PostgreSQL for the store tests: the admin engine (or a skip — a failure
under NOK_REQUIRE_POSTGRES=1, as CI runs), databases created and dropped per use, and a store
database emptied between the tests that share it."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN = os.environ.get("NOK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_or_skip():
    """The admin engine, or a skip with the reason; CI (NOK_REQUIRE_POSTGRES=1) fails instead."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any reason the server is not there
        reason = f"PostgreSQL недоступен ({PG_ADMIN.split('@')[-1]}): {type(exc).__name__}"
        if os.environ.get("NOK_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " — NOK_REQUIRE_POSTGRES=1 требует его")
        pytest.skip(reason)
    return engine


@contextlib.contextmanager
def postgres_database(admin, prefix: str, template: str | None = None) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    """A new database on the machine's PostgreSQL — a copy of `template`, or empty — as
    (name, URL); dropped afterwards, whatever its connections. The name is unique (a random
    suffix), so parallel test processes never meet."""
    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def store_tables(url: str) -> tuple[list[str], list[str], list[str]]:
    """The store's tables (all but Alembic's), its sequences, and the tables in which the
    migrations wrote rows (the store's id): those rows are kept aside in the schema
    `nok_seed`, to be put back each time the store is emptied."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = list(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )).scalars())
            sequences = list(conn.execute(text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).scalars())
            seeded = [t for t in tables if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()]
            conn.execute(text("CREATE SCHEMA nok_seed"))
            for table in seeded:
                conn.execute(text(f'CREATE TABLE nok_seed."{table}" AS TABLE public."{table}"'))
    finally:
        engine.dispose()
    assert tables
    return tables, sequences, seeded


def empty_store(admin, name: str, url: str, tables: list[str], sequences: list[str], seeded: list[str]) -> str:  # noqa: ANN001
    """Brings the store database `name` back to the template's state and returns an address of it:
    every row a test wrote is gone, the migrations' own rows are back, sequences start at 1."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            left = list(conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal UNION ALL "
                "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")).scalars())
            assert not left, f"a test left {left} in the shared store: it must drop what it creates"
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK order needed
            for table in tables:
                conn.execute(text(f'DELETE FROM public."{table}"'))
            for table in seeded:
                conn.execute(text(f'INSERT INTO public."{table}" SELECT * FROM nok_seed."{table}"'))
            for sequence in sequences:
                conn.execute(text(f'ALTER SEQUENCE public."{sequence}" RESTART'))
    finally:
        engine.dispose()
    # A new address for each test: the product's caches are keyed by the store's address, and
    # this store was emptied behind their back (a product store never is).
    return f"{url}?application_name=nok-test-{next(_uses)}"


_uses = itertools.count(1)
