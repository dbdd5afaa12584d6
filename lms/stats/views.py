"""The skill-goal dashboard, its JSON, Excel exports and course statistics. Officials see their own
region and below; anything else is a 404."""
from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.access import role_required
from lms.extensions import db
from lms.regions.models import Region
from lms.regions.scope import ensure_in_scope
from lms.stats import charts, exports, queries

bp = Blueprint("stats", __name__, template_folder="templates", static_folder="static",
               static_url_path="/stats/static")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_template_filter("stat")
def format_stat(value, kind: str = "int") -> str:
    """A figure as the tables show it (a filter: cheaper than a macro on pages with hundreds of cells)."""
    if kind == "pct":
        return f"{(value or 0) * 100:.1f}%"
    if kind == "int":
        return f"{value or 0:,}"
    return "" if value is None else str(value)


def _region() -> Region:
    """The requested region (default: the official's own, or the first province), in scope or 404."""
    code = (request.args.get("region") or "").strip()
    if not code:
        code = current_user.region_code or db.session.scalar(
            db.select(Region.code).where(Region.level == 1).order_by(Region.code)) or ""
    region = db.session.get(Region, code) if re.fullmatch(r"\d{12}", code) else None
    if region is None:
        from flask import abort

        abort(404)
    ensure_in_scope(current_user, region.code)
    return region


def _ancestors(region: Region) -> list[Region]:
    """The breadcrumb: ancestors the user may see, then the region."""
    from lms.regions.queries import ancestors_of
    from lms.regions.scope import code_in_scope

    return [r for r in ancestors_of(region) if code_in_scope(current_user, r.code)]


def _attachment(data: bytes, filename: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@bp.get("/stats/skills")
@role_required("official", "admin")
def skills():
    region = _region()
    goal = queries.goal()
    own, children = queries.region_table(region)
    sort = request.args.get("sort", "household")
    followup = queries.followup(region, sort) if region.level == 5 else None
    points = queries.trend(region, own)
    unit_key = "coverage" if goal.unit == "laborer" else "household_coverage"
    legend = (_("≥1 skill"), _("≥2 skills"))
    goal_label = _("Goal: %(unit)s with ≥%(n)s skill(s)", unit=_("laborers") if goal.unit == "laborer"
                   else _("households"), n=goal.threshold)
    return render_template(
        "stats/skills.html", region=region, crumbs=_ancestors(region), goal=goal, own=own, children=children,
        columns=exports.region_columns(), breakdowns=queries.breakdowns(region), trend=points,
        followup=followup, followup_columns=exports.followup_columns(), sort=sort, goal_label=goal_label,
        bars=charts.coverage_bars(children or [own], goal.threshold, unit_key, _("Coverage by region"), legend,
                                  goal_label),
        trend_chart=charts.trend_lines(points, goal.threshold, unit_key, _("Coverage trend"), legend))


@bp.get("/stats/skills.xlsx")
@role_required("official", "admin")
def skills_export():
    region = _region()
    own, children = queries.region_table(region)
    data = exports.region_table_xlsx(own, children, f"{region.name} {region.code}")
    return _attachment(data, f"技能覆盖-{region.name}-{region.code}.xlsx")


@bp.get("/stats/skills/followup.xlsx")
@role_required("official", "admin")
def followup_export():
    region = _region()
    if region.level != 5:
        from lms.errors import abort_with

        abort_with(400, _("The follow-up list is per village: choose a village."))
    rows = queries.followup(region, request.args.get("sort", "household"))
    return _attachment(exports.followup_xlsx(rows, f"{region.name} {region.code}"),
                       f"跟踪名单-{region.name}-{region.code}.xlsx")


@bp.get("/api/v1/stats/skills")
@role_required("official", "admin")
def skills_api():
    return jsonify(queries.api_payload(_region()))


@bp.get("/stats/courses")
@role_required("official", "admin")
def courses():
    region = _region()
    month = request.args.get("month", "")
    if month and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        from lms.errors import abort_with

        abort_with(400, _("Write the month as YYYY-MM, for example 2024-05."))
    rows = queries.course_stats(region.prefix, month or None)
    return render_template("stats/courses.html", region=region, crumbs=_ancestors(region), rows=rows, month=month,
                           programmes=queries.programme_stats(rows), months=queries.course_months(region.prefix))
