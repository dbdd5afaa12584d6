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


def region_names(codes) -> dict[str, str]:
    """Code → name for the codes that exist (one query, for a list page or an audit line)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return {code: name for code, name in db.session.execute(db.select(Region.code, Region.name).where(Region.code.in_(wanted)))}
