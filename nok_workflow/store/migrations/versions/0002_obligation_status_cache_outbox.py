"""obligation status cache, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:27:03.007272
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_obligation_id'), ['obligation_id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_plan_id'), ['plan_id'], unique=False)

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        # Existing rows start as 'upcoming'; the next sweep computes their real status.
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='upcoming'))
        batch_op.add_column(sa.Column('level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_obligation_item_open_due', ['item_id', 'due'], unique=False, postgresql_where=sa.text("state = 'active' AND completed_on IS NULL"), sqlite_where=sa.text("state = 'active' AND completed_on IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_item_open_due', postgresql_where=sa.text("state = 'active' AND completed_on IS NULL"), sqlite_where=sa.text("state = 'active' AND completed_on IS NULL"))
        batch_op.drop_column('level')
        batch_op.drop_column('status')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_plan_id'))
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_obligation_id'))

    op.drop_table('outbox')
