"""calendar feeds: obligation revision and change time, the store's random id, feed tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 11:00:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('changed_at', T(), nullable=True))
    # What exists changed last when its plan version was loaded: as good a time as any known.
    op.execute("UPDATE obligation SET changed_at = (SELECT pv.loaded_at FROM plan_version pv "
               "WHERE pv.plan_id = obligation.plan_id AND pv.version = obligation.created_version)")
    meta = op.create_table('store_meta',
    sa.Column('key', S(length=32), nullable=False),
    sa.Column('value', S(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # Made with the schema, in the same transaction: two first users cannot make two ids.
    op.bulk_insert(meta, [{"key": "store_id", "value": secrets.token_hex(8)}])
    op.create_table('calendar_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', S(length=64), nullable=False),
    sa.Column('name', S(), nullable=False),
    sa.Column('plan_id', S(length=64), nullable=True),
    sa.Column('party_id', S(length=64), nullable=True),
    sa.Column('created_by', S(length=64), nullable=False),
    sa.Column('created_at', T(), nullable=False),
    sa.Column('revoked_at', T(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )


def downgrade() -> None:
    op.drop_table('calendar_feed')
    op.drop_table('store_meta')
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_column('changed_at')
        batch_op.drop_column('revision')
