from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import db

# Significant digits of the 12-digit code per level: province, city, county, township, village.
LEVEL_DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


class Region(db.Model):
    """A 12-digit statistical division code (province 2 + city 2 + county 2 + township 3 + village 3)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)

    parent: Mapped["Region | None"] = relationship(remote_side=[code])

    @property
    def prefix(self) -> str:
        """Every code under this region starts with this prefix."""
        return self.code[: LEVEL_DIGITS[self.level]]

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
