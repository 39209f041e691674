"""mail digests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:46:22.414360
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('smtp_response', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('address', 'day')
    )
    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.create_index('ix_mail_ready', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_mail_id'), ['mail_id'], unique=False)
        batch_op.create_foreign_key('fk_outbox_mail_id_mail', 'mail', ['mail_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_mail_id_mail', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_mail_id'))
        batch_op.drop_column('mail_id')

    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_ready')

    op.drop_table('mail')
