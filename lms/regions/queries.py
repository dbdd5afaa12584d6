from __future__ import annotations

from lms.extensions import db
from lms.regions.models import Region


def children_of(code: str) -> list[Region]:
    return list(db.session.scalars(db.select(Region).where(Region.parent_code == code).order_by(Region.code)))


def ancestors_of(region: Region) -> list[Region]:
    """From the province down to ``region`` itself."""
    chain = [region]
    while chain[-1].parent_code:
        chain.append(db.session.get(Region, chain[-1].parent_code))
    return list(reversed(chain))
