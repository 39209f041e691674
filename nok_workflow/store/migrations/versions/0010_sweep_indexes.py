"""sweep indexes: the daily sweep's candidates and status counts by index, not by item scan

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 20:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN = "state = 'active' AND completed_on IS NULL"
UPCOMING = OPEN + " AND status = 'upcoming'"
CLOSED = "state != 'active' OR completed_on IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_item_open_status', ['item_id', 'status', 'level', 'due'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('ix_obligation_item_upcoming', ['item_id', 'opens'], unique=False,
                              postgresql_where=sa.text(UPCOMING), sqlite_where=sa.text(UPCOMING))
        batch_op.create_index('ix_obligation_item_closed', ['item_id', 'status'], unique=False,
                              postgresql_where=sa.text(CLOSED), sqlite_where=sa.text(CLOSED))


def downgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_item_closed')
        batch_op.drop_index('ix_obligation_item_upcoming')
        batch_op.drop_index('ix_obligation_item_open_status')
