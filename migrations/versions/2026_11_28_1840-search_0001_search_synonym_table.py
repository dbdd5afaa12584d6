"""search: synonym table, seeded with the common groups

Revision ID: search_0001
Revises: dd6ce690d385
Create Date: 2026-11-28 18:40:00

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = 'search_0001'
down_revision = 'dd6ce690d385'
branch_labels = None
depends_on = None

# A copy (migrations must not change when the code does) of search.models.DEFAULT_SYNONYMS.
SEED = (
    "电商 电子商务 网店 网上开店",
    "养猪 生猪养殖 养殖生猪",
    "家政 家政服务",
    "月嫂 母婴护理",
    "开车 驾驶",
    "做饭 烹饪 厨师",
    "电焊 焊工 焊接",
    "盖房 建筑 砌筑",
    "农家乐 乡村旅游",
    "绣花 刺绣",
)


def upgrade():
    table = op.create_table('search_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.String(length=500), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms'))
    )
    now = lms.db.utcnow()
    op.bulk_insert(table, [{"terms": terms, "updated_at": now} for terms in SEED])


def downgrade():
    op.drop_table('search_synonyms')
