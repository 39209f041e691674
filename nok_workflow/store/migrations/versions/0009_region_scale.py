"""region scale: obligations by organisation, stored policies and slot digests of items

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    # Left NULL in existing rows: status parses the version's text and the next amendment
    # compares every item's obligations, as before, until the plan is loaded again.
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy', sa.JSON(), nullable=True))
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('slots', S(length=64), nullable=True))
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_org', ['org_id', 'plan_id'], unique=False)
        # The unique (item_id, period, org_id) already serves lookups by item; one index
        # less to maintain on every bulk load.
        batch_op.drop_index('ix_obligation_item_id')


def downgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_item_id', ['item_id'], unique=False)
        batch_op.drop_index('ix_obligation_org')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('slots')
        batch_op.drop_column('policy')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('policy')
