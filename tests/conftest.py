"""Shared fixtures: a minimal valid plan to mutate, and a runner for the real `nok` command."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webapp import app_of  # noqa: F401 - the web app fixture, for every web test

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plan_definitions"
SEEDS = ROOT / "tests" / "seeds"  # the real plans, kept in the repository

MINIMAL_PLAN = """\
id: test-plan
title: Тестовый план
period: 2024
coordinator: otdel
directory:
  - id: otdel
    name: Отдел образования
    email: otdel@example.org
sections:
  - number: "1."
    title: Подготовка
    items:
      - number: "1"
        title: Формирование перечня
        deadline: Январь
        owners: [otdel]
        results: [Перечень учреждений]
"""


@pytest.fixture
def write_plan(tmp_path: Path):
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run_nok(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a real process, as a user would."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nok_workflow.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=120,
    )


@pytest.fixture(scope="session")
def harness():
    """Prefect's own test harness, one for the whole session (~20 s to start): a second one
    started inside it would get no task runs (Prefect's events client stays with the first)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# --- the store, on SQLite and on the machine's PostgreSQL ---------------------------------

PG_ADMIN = os.environ.get("NOK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_or_skip():
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
    (name, URL); dropped afterwards, whatever its connections."""
    import uuid

    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template():
    """A migrated template database; each test gets a copy (fast, fully isolated)."""
    from nok_workflow.store.db import make_engine, upgrade

    admin = _postgres_or_skip()
    with postgres_database(admin, "nok_tmpl") as (name, url):
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield admin, name
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nok.db'}"
        return
    admin, template = request.getfixturevalue("pg_template")
    with postgres_database(admin, "nok_test", template) as (_, url):
        yield url


@pytest.fixture
def engine(db_url):
    from nok_workflow.store.db import connect

    engine = connect(db_url)
    yield engine
    engine.dispose()
