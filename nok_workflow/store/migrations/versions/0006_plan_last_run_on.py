"""plan last run day (runs back in time are refused)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_run_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('last_run_on')
