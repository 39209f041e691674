"""The Alembic migrations build exactly the schema the models describe (on both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from nok_workflow.store import db, models  # noqa: F401 - registers the tables


def test_migrated_schema_matches_the_models(engine):
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine):
    assert db.upgrade(engine) is False


def test_concurrent_first_commands_on_a_fresh_store_all_succeed(tmp_path):
    """Eight first users of one fresh database at the same moment, each with its own engine
    and connection (as separate commands would be): they take turns
    (advisory lock / SQLite write lock); none fails half-way through creating tables."""
    import threading

    from tests.support.postgres import postgres_database, postgres_or_skip

    admin = postgres_or_skip()
    with postgres_database(admin, "nok_fresh") as (_, pg_url):
        urls = [pg_url, f"sqlite:///{tmp_path / 'fresh.db'}"]
        for url in urls:
            barrier, errors, applied = threading.Barrier(8), [], []

            def first_use(url=url, barrier=barrier, errors=errors, applied=applied) -> None:
                engine = db.make_engine(url)
                try:
                    barrier.wait()
                    applied.append(db.upgrade(engine))
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)
                finally:
                    engine.dispose()

            threads = [threading.Thread(target=first_use) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert errors == [], (url, errors)
            assert sorted(applied) == [False] * 7 + [True], url  # exactly one migrated
            engine = db.make_engine(url)
            assert db.current_revision(engine) == db.head_revision()
            engine.dispose()
    admin.dispose()
