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
