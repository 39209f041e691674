"""Shared fixtures only; the helpers the tests share are in tests/support/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres import postgres_database, postgres_or_skip
from tests.support.web import NOW, make_app


@pytest.fixture
def write_plan(tmp_path: Path):
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def harness():
    """Prefect's own test harness, one for the whole session (~20 s to start): a second one
    started inside it would get no task runs (Prefect's events client stays with the first)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# --- the store, on SQLite and on the machine's PostgreSQL ---------------------------------

@pytest.fixture(scope="session")
def pg_template():
    """A migrated template database; each test gets a copy (fast, fully isolated)."""
    from nok_workflow.store.db import make_engine, upgrade

    admin = postgres_or_skip()
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


# --- the web app, mail -----------------------------------------------------------------------

@pytest.fixture
def app_of(tmp_path):
    """`app_of(engine, now=..., **settings)`: the app over `engine`, NOK_HOME in tmp_path;
    `app.state.calls` lists each (plan, simulated moment) the app asked to run."""

    def make(engine, now: str = NOW, **settings):
        return make_app(tmp_path / "home", engine, now, **settings)

    return make


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free port: (its Handler, the port)."""
    from aiosmtpd.controller import Controller

    from tests.support.mail import Handler
    from tests.support.serve import free_port

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()
