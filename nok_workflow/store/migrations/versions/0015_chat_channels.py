"""messenger channels: chats linked to parties, one-time start tokens, each bot's polling
state; a mail's channel and its parts sent; a party that wants its reminders only in the messengers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 08:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'chat_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', _S(length=64), nullable=False),
        sa.Column('party_id', _S(length=64), nullable=False),
        sa.Column('channel', _S(length=16), nullable=False),
        sa.Column('chat_id', _S(length=64), nullable=False),
        sa.Column('linked_at', _T(), nullable=False),
        sa.Column('unlinked_at', _T(), nullable=True),
        sa.Column('unlink_reason', _S(length=16), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_chat_link_party', 'chat_link', ['plan_id', 'party_id'], unique=False)
    op.create_table(
        'chat_start',
        sa.Column('token_hash', _S(length=64), nullable=False),
        sa.Column('plan_id', _S(length=64), nullable=False),
        sa.Column('party_id', _S(length=64), nullable=False),
        sa.Column('channel', _S(length=16), nullable=False),
        sa.Column('created_at', _T(), nullable=False),
        sa.Column('expires_at', _T(), nullable=False),
        sa.Column('used_at', _T(), nullable=True),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_table(
        'bot_state',
        sa.Column('channel', _S(length=16), nullable=False),
        sa.Column('offset', _S(length=64), nullable=True),
        sa.Column('poller', _S(length=64), nullable=True),
        sa.Column('lease_until', _T(), nullable=True),
        sa.Column('username', _S(length=64), nullable=True),
        sa.Column('updated_at', _T(), nullable=False),
        sa.PrimaryKeyConstraint('channel'),
    )
    with op.batch_alter_table('party') as batch:
        batch.add_column(sa.Column('mail_off', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('mail') as batch:
        batch.add_column(sa.Column('channel', _S(length=16), nullable=False, server_default='email'))
        batch.add_column(sa.Column('parts_sent', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('mail') as batch:
        batch.drop_column('parts_sent')
        batch.drop_column('channel')
    with op.batch_alter_table('party') as batch:
        batch.drop_column('mail_off')
    op.drop_table('bot_state')
    op.drop_table('chat_start')
    op.drop_index('ix_chat_link_party', table_name='chat_link')
    op.drop_table('chat_link')
