"""The step-by-step region picker: county → township → village, each a ``<select>`` filled from the
choice above it, so a province of 17,000 villages is never one menu.

Every step's ``<select>`` carries the same form name; the value is the deepest choice that still
lies under the one above it (a village left over from another county is dropped). Without
JavaScript the form's "next level" button reloads the form with the chosen area's children (the
view keeps what was typed); with JavaScript (``lms/static/region-picker.js``) the next step is
filled from ``GET /regions/children``, which answers only inside the user's own region.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField

from lms.extensions import db
from lms.regions.models import Region
from lms.regions.queries import ancestors_of, children_of
from lms.regions.scope import region_prefix

bp = Blueprint("regions", __name__)

LEVEL_LABELS = {1: _l("Province"), 2: _l("City"), 3: _l("County or district"), 4: _l("Township"), 5: _l("Village")}
# The button a form without JavaScript sends to see the next level (its value: the picker's name).
STEP_BUTTON = "region_step"


@dataclass
class Step:
    level: int
    label: str
    options: list[tuple[str, str]]
    selected: str = ""
    empty: str = ""


@dataclass
class Picker:
    name: str
    steps: list[Step] = field(default_factory=list)
    value: str | None = None
    deepest: int = 5
    top: Region | None = None  # the area every step lies under (shown when there is nothing to choose)
    levels: tuple = (3, 4, 5)  # the levels that may be the answer


def deepest_choice(values) -> str | None:
    """The deepest code of ``values`` (top step first) that lies under each choice above it. A
    first value that is no region comes back as it was, for the form or service to refuse."""
    chosen: Region | None = None
    for code in values or ():
        code = (code or "").strip()
        if not code:
            break
        region = db.session.get(Region, code) if len(code) == 12 and code.isdigit() else None
        if region is None and chosen is None:
            return code
        if region is None or (chosen is not None and region.parent_code != chosen.code):
            break
        chosen = region
    return chosen.code if chosen else None


def is_step(form) -> bool:
    """The form was sent by a picker's "next level" button (no JavaScript): show it again, save nothing."""
    return bool(form.get(STEP_BUTTON))


class RegionStepsField(StringField):
    """A WTForms field fed by a picker's selects: its data is their deepest consistent choice."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = deepest_choice(valuelist) or ""


def _root(prefix: str | None) -> Region | None:
    """The region the user is bound to (None: the whole table)."""
    if not prefix:
        return None
    return db.session.scalar(db.select(Region).where(Region.code.startswith(prefix, autoescape=True))
                             .order_by(Region.level).limit(1))


def _children(parent: Region | None) -> list[Region]:
    if parent is None:
        return list(db.session.scalars(db.select(Region).where(Region.parent_code.is_(None)).order_by(Region.code)))
    return children_of(parent.code)


def build_picker(name: str, prefix: str | None, chosen: str | None, levels=(3, 4, 5)) -> Picker:
    """The steps under the user's region (``prefix`` from ``region_prefix``) down to the deepest of
    ``levels``, those above ``chosen`` filled; a level with one region only is passed through."""
    from flask_babel import gettext as _

    deepest = max(levels)
    parent = _root(prefix)
    if parent is not None and parent.level >= deepest:  # a village's official: nothing to choose
        fixed = Picker(name, [], parent.code, deepest)
        fixed.top = parent
        return fixed
    options = _children(parent)
    while len(options) == 1 and options[0].level < deepest:  # one province or one city: nothing to choose
        parent = options[0]
        options = _children(parent)
    region = db.session.get(Region, chosen) if chosen else None
    chain = {r.level: r.code for r in ancestors_of(region)} if region is not None else {}
    if region is not None and prefix and not region.code.startswith(prefix):
        chain = {}
    picker = Picker(name, deepest=deepest, levels=tuple(levels))
    picker.top = parent
    level = options[0].level if options else (parent.level + 1 if parent else 1)
    above = parent
    while level <= deepest:
        selected = chain.get(level, "")
        whole = above is not None and above.level in levels
        step = Step(level, str(LEVEL_LABELS.get(level, "")), [(r.code, r.name) for r in options], selected,
                    _("(all of %(name)s)", name=above.name) if whole else _("Choose…"))
        picker.steps.append(step)
        if selected and any(code == selected for code, _name in step.options):
            above = db.session.get(Region, selected)
            picker.value = selected
            options = children_of(selected) if level < deepest else []
        else:
            options, above = [], None  # the steps below wait for this one
        level += 1
    if picker.value is None and parent is not None and parent.level in levels:
        picker.value = parent.code
    return picker


def region_paths(codes) -> dict[str, str]:
    """Code → "渭源县 · 清源镇" (county and below) for the codes that exist, in the given order."""
    out = {}
    for code in codes:
        region = db.session.get(Region, code) if code else None
        if region is not None:
            chain = [r.name for r in ancestors_of(region) if r.level >= 3] or [region.name]
            out[code] = " · ".join(chain)
    return out


@bp.get("/regions/children")
def children():
    """``[{code, name}]`` under ``code``, only inside the signed-in user's region (else 404)."""
    prefix = region_prefix(current_user)
    code = (request.args.get("code") or "").strip()
    if prefix is None or not (len(code) == 12 and code.isdigit()):
        abort(404)
    region = db.session.get(Region, code)
    if region is None or not region.code.startswith(prefix):
        abort(404)
    response = jsonify([{"code": r.code, "name": r.name} for r in children_of(code)])
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
