"""The machine's PostgreSQL for the store tests: the admin engine (or a skip — a failure
under NOK_REQUIRE_POSTGRES=1, as CI runs), and databases created and dropped per use."""

from __future__ import annotations

import contextlib
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
