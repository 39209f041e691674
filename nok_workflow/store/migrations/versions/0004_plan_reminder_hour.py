"""plan reminder hour

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:12:24.051832
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_hour', sa.Integer(), nullable=False, server_default='9'))


def downgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('reminder_hour')

