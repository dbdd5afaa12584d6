"""The village working list (培训安排), assigning, 暂缓, and the export of open cases. Officials see and
change their own region and below (``lms.regions.scope``); anything else is a 404."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.accounts.access import role_required
from lms.extensions import db
from lms.followup import forms, queries, services
from lms.followup.models import DEFERRAL_LABELS, Assignment
from lms.regions.models import Region
from lms.regions.scope import ensure_in_scope

bp = Blueprint("followup", __name__, template_folder="templates")
STAFF = ("official", "admin")


def _region(code: str | None) -> Region:
    code = (code or "").strip() or (current_user.region_code or "")
    region = db.session.get(Region, code) if re.fullmatch(r"\d{12}", code) else None
    if region is None:
        abort(404)
    ensure_in_scope(current_user, region.code)
    return region


def _village(code: str | None) -> Region:
    region = _region(code)
    if region.level != 5:
        from lms.errors import abort_with

        abort_with(400, _("The follow-up list is per village: choose a village."))
    return region


def _render_village(region: Region, status: int = 200, error: str | None = None, form=None):
    show = request.args.get("show", "all")
    show = show if show in queries.SHOW else "all"
    courses, classes = queries.measures_for(region.code)
    return render_template("followup/village.html", region=region, cases=queries.village_cases(region.code, show),
                           show=show, courses=courses, classes=classes, reasons=DEFERRAL_LABELS, error=error,
                           form=form or {}, today=queries.today()), status


@bp.get("/followup")
@role_required(*STAFF)
def village():
    """A village's working list; above a village, its child regions to choose from."""
    from sqlalchemy import select

    code = request.args.get("region") or current_user.region_code
    if not code:  # an admin: start from the first province
        code = db.session.scalar(select(Region.code).where(Region.level == 1).order_by(Region.code))
    region = _region(code)
    if region.level != 5:
        children = list(db.session.scalars(select(Region).where(Region.parent_code == region.code)
                                           .order_by(Region.code)))
        return render_template("followup/choose.html", region=region, children=children)
    return _render_village(region)


@bp.post("/followup/assign")
@role_required(*STAFF)
def assign():
    region = _village(request.form.get("region"))
    form = request.form
    try:
        members = forms.parse_members(form.getlist("shown" if form.get("scope") == "all" else "member"))
        course_id, class_id = forms.parse_measure(form.get("measure"))
        due_on = forms.parse_date(form.get("due_on"), _("Give a due date."))
        result = services.assign(current_user, members, course_id=course_id, class_id=class_id, due_on=due_on,
                                 note=form.get("note", ""))
    except services.FollowupError as exc:
        db.session.rollback()
        return _render_village(region, 400, str(exc), form)
    if result.created:
        flash(ngettext("Training assigned to %(num)d laborer.", "Training assigned to %(num)d laborers.",
                       len(result.created)), "success")
    _flash_skipped(result.skipped)
    return redirect(forms.safe_next(form.get("next"), url_for(".village", region=region.code)), 303)


def _flash_skipped(skipped) -> None:
    """One line per reason; names only of people the official may see (others are counted)."""
    from lms.households.models import Member

    by_reason: dict[str, list[str]] = {}
    for member_id, code in skipped:
        member = db.session.get(Member, member_id) if code not in ("out_of_scope", "unknown_member") else None
        by_reason.setdefault(code, []).append(member.name if member else "")
    for code, names in by_reason.items():
        named = "、".join(n for n in names if n)
        flash(f"{services.REFUSALS[code]} {named or ngettext('(%(num)d person)', '(%(num)d people)', len(names))}",
              "error")


@bp.post("/followup/assignments/<int:assignment_id>/cancel")
@role_required(*STAFF)
def cancel(assignment_id: int):
    assignment = db.get_or_404(Assignment, assignment_id)
    ensure_in_scope(current_user, assignment.village_code)
    village_code = assignment.village_code
    services.cancel(current_user, assignment)
    flash(_("The assignment was withdrawn."), "success")
    return redirect(forms.safe_next(request.form.get("next"), url_for(".village", region=village_code)), 303)


@bp.post("/followup/members/<int:member_id>/defer")
@role_required(*STAFF)
def defer(member_id: int):
    member = _member_or_404(member_id)
    region = db.session.get(Region, member.household.village_code)
    form = request.form
    try:
        review_on = forms.parse_date(form.get("review_on"), _("Give a review date."))
        services.defer(current_user, member.id, reason=form.get("reason", ""), reason_text=form.get("reason_text", ""),
                       review_on=review_on)
    except services.FollowupError as exc:
        db.session.rollback()
        return _render_village(region, 400, f"{member.name}: {exc}", form)
    flash(_("%(name)s is deferred (暂缓) until %(day)s.", name=member.name, day=review_on.isoformat()), "success")
    return redirect(forms.safe_next(form.get("next"), url_for(".village", region=region.code)), 303)


@bp.post("/followup/members/<int:member_id>/resume")
@role_required(*STAFF)
def resume(member_id: int):
    member = _member_or_404(member_id)
    try:
        services.end_deferral(current_user, member.id)
    except services.FollowupError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("%(name)s is back on the open list.", name=member.name), "success")
    return redirect(forms.safe_next(request.form.get("next"),
                                    url_for(".village", region=member.household.village_code)), 303)


def _member_or_404(member_id: int):
    from lms.households.models import Member

    member = db.get_or_404(Member, member_id)
    ensure_in_scope(current_user, member.household.village_code)
    return member


@bp.get("/followup/cases.xlsx")
@role_required(*STAFF)
def export():
    from urllib.parse import quote

    from flask import Response

    from lms.followup.exports import cases_xlsx

    region = _region(request.args.get("region"))
    # Streamed: the rows are read while the file is sent (a province's export has hundreds of
    # thousands). The region is checked and the labels translated here, before the first byte; the
    # stream reads through a connection of its own, closed when the response is.
    connection = db.engine.connect()
    data = cases_xlsx(queries.export_rows(region.prefix, connection), f"{region.name} {region.code}")

    def body():
        try:
            yield from data
        finally:
            connection.close()  # read to the end, or the download stopped

    response = Response(body(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.call_on_close(connection.close)  # never read at all
    response.headers["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'跟踪销号-{region.name}-{region.code}.xlsx')}")
    return response
