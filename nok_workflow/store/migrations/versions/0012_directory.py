"""directory: a coordinator's own directory of addresses; parties remember where theirs came from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'directory_entry',
        sa.Column('owner', S(length=64), nullable=False),
        sa.Column('id', S(length=64), nullable=False),
        sa.Column('kind', S(length=16), nullable=False),
        sa.Column('name', S(), nullable=False),
        sa.Column('short_name', S(), nullable=True),
        sa.Column('email', S(length=320), nullable=True),
        sa.Column('aliases', sa.JSON(), nullable=False),
        sa.Column('group_id', S(length=64), nullable=True),
        sa.Column('code', S(length=32), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('search', S(), nullable=False),
        sa.PrimaryKeyConstraint('owner', 'id'),
    )
    op.create_index('ix_directory_entry_owner_name', 'directory_entry', ['owner', 'name', 'id'], unique=False)
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_from', S(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.drop_column('email_from')
    op.drop_index('ix_directory_entry_owner_name', table_name='directory_entry')
    op.drop_table('directory_entry')
