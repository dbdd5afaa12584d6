"""sessions: a per-account session generation and sign-in failures counted in the database

Revision ID: 0005_sessions
Revises: 0004_stats
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0005_sessions'
down_revision = '0005_import_leases'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signin_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_failures'))
    )
    op.create_index('ix_signin_failures_key_at', 'signin_failures', ['key', 'at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
    op.drop_index('ix_signin_failures_key_at', table_name='signin_failures')
    op.drop_table('signin_failures')
