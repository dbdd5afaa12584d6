"""The synonym table: groups of words a learner may use for the same thing (电商 ↔ 电子商务 ↔ 网店).

Kept as data so admins edit it; read at query time (search.queries), so an edit takes effect
without re-indexing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

# Seeded by the migration; admins change them on the synonyms page.
DEFAULT_SYNONYMS = (
    ("电商", "电子商务", "网店", "网上开店"),
    ("养猪", "生猪养殖", "养殖生猪"),
    ("家政", "家政服务"),
    ("月嫂", "母婴护理"),
    ("开车", "驾驶"),
    ("做饭", "烹饪", "厨师"),
    ("电焊", "焊工", "焊接"),
    ("盖房", "建筑", "砌筑"),
    ("农家乐", "乡村旅游"),
    ("绣花", "刺绣"),
)


class SynonymGroup(db.Model):
    """Words that mean the same to a learner; a query for one finds courses using any."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The words, separated by single spaces (normalised on save).
    terms: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def words(self) -> list[str]:
        return self.terms.split()
