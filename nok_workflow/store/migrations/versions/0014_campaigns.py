"""campaigns and shortcomings plans: a plan's kind and organisation, a campaign of many
organisations' plans, public progress pages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'campaign',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_campaign_owner', 'campaign', ['owner'], unique=False)
    with op.batch_alter_table('plan') as batch:
        batch.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                   server_default='plan'))
        batch.add_column(sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_plan_campaign_id', 'plan', ['campaign_id'], unique=False)
    with op.batch_alter_table('plan_draft') as batch:
        batch.add_column(sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan_draft') as batch:
        batch.drop_column('campaign_id')
    op.drop_index('ix_plan_campaign_id', table_name='plan')
    with op.batch_alter_table('plan') as batch:
        for column in ('public', 'campaign_id', 'organisation_id', 'kind'):
            batch.drop_column(column)
    op.drop_index('ix_campaign_owner', table_name='campaign')
    op.drop_table('campaign')
