"""web app: plan period end and demo flag, evidence comment, coordinator accounts, sessions, login links, API tokens, upload link revisions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('demo', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', S(), nullable=True))
    op.create_table('account',
    sa.Column('login', S(length=64), nullable=False),
    sa.Column('name', S(), nullable=False),
    sa.Column('email', S(length=320), nullable=True),
    sa.Column('password_hash', S(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', T(), nullable=False),
    sa.PrimaryKeyConstraint('login')
    )
    op.create_table('web_session',
    sa.Column('token_hash', S(length=64), nullable=False),
    sa.Column('login', S(length=64), nullable=False),
    sa.Column('created_at', T(), nullable=False),
    sa.Column('expires_at', T(), nullable=False),
    sa.ForeignKeyConstraint(['login'], ['account.login'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_web_session_login'), 'web_session', ['login'], unique=False)
    op.create_table('login_link',
    sa.Column('token_hash', S(length=64), nullable=False),
    sa.Column('login', S(length=64), nullable=False),
    sa.Column('expires_at', T(), nullable=False),
    sa.Column('used_at', T(), nullable=True),
    sa.ForeignKeyConstraint(['login'], ['account.login'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', S(length=64), nullable=False),
    sa.Column('name', S(), nullable=False),
    sa.Column('plan_id', S(length=64), nullable=True),
    sa.Column('actor', S(length=64), nullable=False),
    sa.Column('created_at', T(), nullable=False),
    sa.Column('revoked_at', T(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('link_revision',
    sa.Column('plan_id', S(length=64), nullable=False),
    sa.Column('party_id', S(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('revoked_at', T(), nullable=True),
    sa.PrimaryKeyConstraint('plan_id', 'party_id')
    )


def downgrade() -> None:
    op.drop_table('link_revision')
    op.drop_table('api_token')
    op.drop_table('login_link')
    op.drop_index(op.f('ix_web_session_login'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_table('account')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_column('comment')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('demo')
        batch_op.drop_column('period_end')
