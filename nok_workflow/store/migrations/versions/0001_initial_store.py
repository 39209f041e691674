"""initial store

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 07:21:39.667428
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_plan_at', ['plan_id', 'at'], unique=False)

    op.create_table('plan',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('coordinator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('review_required', sa.Boolean(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('deadline_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('owners', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('depends_on', sa.JSON(), nullable=False),
    sa.Column('relative', sa.JSON(), nullable=True),
    sa.Column('review_required', sa.Boolean(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('first_version', sa.Integer(), nullable=False),
    sa.Column('last_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'identity')
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_plan_id'), ['plan_id'], unique=False)

    op.create_table('party',
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('group_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('escalates_to', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'id')
    )
    op.create_table('plan_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('loaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('loaded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'version')
    )
    with op.batch_alter_table('plan_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_version_plan_id'), ['plan_id'], unique=False)

    op.create_table('obligation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('org_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('opens', sa.Date(), nullable=True),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('completed_by_evidence', sa.Integer(), nullable=True),
    sa.Column('created_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'period', 'org_id')
    )
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_obligation_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_obligation_open_due', ['plan_id', 'due'], unique=False, postgresql_where=sa.text("state = 'active' AND completed_on IS NULL"), sqlite_where=sa.text("state = 'active' AND completed_on IS NULL"))

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=False),
    sa.Column('review', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_obligation_id'), ['obligation_id'], unique=False)

    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_evidence_id'), ['evidence_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_evidence_id'))

    op.drop_table('review')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_obligation_id'))

    op.drop_table('evidence')
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_open_due', postgresql_where=sa.text("state = 'active' AND completed_on IS NULL"), sqlite_where=sa.text("state = 'active' AND completed_on IS NULL"))
        batch_op.drop_index(batch_op.f('ix_obligation_item_id'))

    op.drop_table('obligation')
    with op.batch_alter_table('plan_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_version_plan_id'))

    op.drop_table('plan_version')
    op.drop_table('party')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_plan_id'))

    op.drop_table('item')
    op.drop_table('plan')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_plan_at')
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
