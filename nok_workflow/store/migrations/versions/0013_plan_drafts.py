"""plan drafts: a plan document read in the browser, corrected, then applied

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plan_draft',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('source_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=False),
        sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('applied_version', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_plan_draft_owner', 'plan_draft', ['owner'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_plan_draft_owner', table_name='plan_draft')
    op.drop_table('plan_draft')
