"""deploy: worker heartbeats for /healthz, data-key rotations for flask keys rotate-data

Revision ID: 0006_worker_heartbeats
Revises: 0005_media_storage_alerts
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0006_worker_heartbeats'
down_revision = '0005_media_storage_alerts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('seen_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_worker_heartbeats'))
    )
    op.create_table('data_key_rotations',
    sa.Column('fingerprint', sa.String(length=32), nullable=False),
    sa.Column('last_member_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('logins', sa.Integer(), nullable=False),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_data_key_rotations'))
    )


def downgrade():
    op.drop_table('data_key_rotations')
    op.drop_table('worker_heartbeats')
