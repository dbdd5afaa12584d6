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


# A menu longer than this is no use to anyone; past it the official narrows by their own region.
PICKER_LIMIT = 3000


def picker_groups(prefix: str = "", levels=(3, 4, 5)) -> list[tuple[str, list[tuple[str, str]]]]:
    """The regions under ``prefix`` for a ``<select>`` that works without JavaScript: one group per
    area above the villages ("渭源县 · 清源镇"), every option a name (an area as a whole is
    "清源镇（全镇）"), never a bare 12-digit code. ``levels`` are the levels that may be chosen."""
    from flask_babel import gettext as _

    whole = {1: _("%(name)s (whole province)"), 2: _("%(name)s (whole city)"),
             3: _("%(name)s (whole county)"), 4: _("%(name)s (whole township)")}
    top = min(min(levels), 3)
    stmt = (db.select(Region).where(Region.code.startswith(prefix or "", autoescape=True),
                                    Region.level.between(top, 5)).order_by(Region.code).limit(PICKER_LIMIT))
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    path: dict[int, str] = {}
    for region in db.session.scalars(stmt):
        if region.level < 5:
            path = {level: name for level, name in path.items() if level < region.level}
            path[region.level] = region.name
            groups.append((" · ".join(path[level] for level in sorted(path)), []))
            if region.level in levels:
                groups[-1][1].append((region.code, whole[region.level] % {"name": region.name}))
        elif 5 in levels:
            if not groups:
                groups.append(("", []))
            groups[-1][1].append((region.code, region.name))
    return [(label, options) for label, options in groups if options]
