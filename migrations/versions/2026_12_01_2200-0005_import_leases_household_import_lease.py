"""households: the lease of a running import job

Revision ID: 0005_import_leases
Revises: 0004_stats
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0005_import_leases'
down_revision = '0006_worker_heartbeats'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', lms.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('household_imports', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_token')
