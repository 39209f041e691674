"""`nok evidence submit` starts small: with a running `nok serve` it writes the evidence to the
store itself and only asks the serve for the run — without importing Prefect or Alembic. The
schema check that every command makes on first use reads the migration files' headers; Alembic
is imported only when something is to be migrated. Timings live in the benchmark."""

from __future__ import annotations

import os

import pytest

from nok_workflow.store import db
from tests.support.cli import run_nok
from tests.support.cli import importtime_nok
from tests.support.serve import get, kill_group, start_serve

SUBMIT = ("evidence", "submit", "--plan", "orenburg-raion-2024", "--item", "I.1", "--by", "sovet",
          "--document-date", "17.09.2024")


@pytest.mark.slow
def test_submit_through_a_running_serve_imports_neither_prefect_nor_alembic(tmp_path):
    proc, url, env = start_serve(tmp_path, preload=("orenburg-raion-2024",))
    try:
        code, out, modules = importtime_nok(*SUBMIT, "--url", "https://example.org/protokol", env=env)
        assert code == 0, out
        assert "принят к учёту: https://example.org/protokol, дата документа 17.09.2024" in out
        assert f"nok serve ({url}): " in out  # the serve was asked for the run, nothing ran here
        assert "sqlalchemy" in modules  # the evidence is written by the command itself
        assert not modules & {"prefect", "alembic"}, sorted(modules & {"prefect", "alembic"})
        assert get(f"{url}/health")["failures"] == 0
    finally:
        kill_group(proc)
    listed = run_nok("evidence", "list", "--plan", "orenburg-raion-2024", "--json", env=env)
    assert '"https://example.org/protokol"' in listed.stdout


@pytest.mark.slow
def test_submit_without_a_serve_imports_neither_prefect_nor_alembic(tmp_path):
    env = {**os.environ, "NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": "",
           "NOK_NOW": "2024-10-08T09:00+05:00"}
    env.pop("PREFECT_API_URL", None)
    assert run_nok("plan", "load", "plan_definitions/orenburg-raion-2024.yaml", env=env).returncode == 0
    code, out, modules = importtime_nok(*SUBMIT, "--url", "https://example.org/p", env=env)
    assert code == 0, out
    assert "шаги плана выполнены сразу (nok serve не запущен)" in out
    assert not modules & {"prefect", "alembic"}, sorted(modules & {"prefect", "alembic"})


def test_the_migration_files_name_the_same_head_as_alembic():
    assert db._shipped_head() == db.head_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    from tests.support.postgres import postgres_database, postgres_or_skip

    admin = postgres_or_skip()
    with postgres_database(admin, "nok_old") as (_, url):
        yield url
    admin.dispose()


def test_a_store_one_revision_behind_is_still_migrated_on_first_use(empty_url):
    from alembic import command
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(db._alembic_config()).get_revision(db.head_revision()).down_revision
    engine = db.make_engine(empty_url)
    try:
        with engine.begin() as conn:
            config = db._alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, previous)
        assert db.current_revision(engine) == previous
    finally:
        engine.dispose()
    engine = db.connect(empty_url)  # what every command does first
    try:
        assert db.current_revision(engine) == db.head_revision()
        assert db.upgrade(engine) is False
    finally:
        engine.dispose()
