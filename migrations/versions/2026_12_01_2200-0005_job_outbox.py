"""job outbox: jobs written in the transaction of the change that needs them

Revision ID: 0005_job_outbox
Revises: 0005_sessions
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0005_job_outbox'
down_revision = '0005_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=128), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox'))
    )
    with op.batch_alter_table('job_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_job_outbox_due', ['dispatched_at', 'available_at'], unique=False)


def downgrade():
    with op.batch_alter_table('job_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_job_outbox_due')
    op.drop_table('job_outbox')
