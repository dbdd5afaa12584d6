"""Search routes: the learner results page, the JSON API, the admins' synonym page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from lms.accounts.access import role_required

bp = Blueprint("search", __name__, template_folder="templates")

MAX_QUERY = 100
MAX_PAGE = 100


def _params():
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    skill = (request.args.get("skill") or "").strip()[:40] or None
    programme = (request.args.get("programme") or "").strip()[:32] or None
    try:
        page = min(MAX_PAGE, max(1, int(request.args.get("page", 1))))
    except ValueError:
        page = 1
    return q, skill, programme, page


@bp.route("/api/v1/search")
def api():
    """``GET /api/v1/search?q=&skill=&programme=&page=`` → total, hits, facets."""
    from search.queries import search_courses

    if not current_user.is_authenticated:
        return jsonify({"error": _("Please sign in first.")}), 401
    q, skill, programme, page = _params()
    result = search_courses(q, user=current_user, skill=skill, programme=programme, page=page)
    response = jsonify(result.as_json())
    if result.fallback:
        # Same answer shape; tells a client the index is being rebuilt (no pinyin meanwhile).
        response.headers["X-Search-Fallback"] = "1"
    return response


@bp.route("/search")
@role_required("learner", "trainer", "official", "admin")
def results():
    from search.queries import search_courses

    q, skill, programme, page = _params()
    result = search_courses(q, user=current_user, skill=skill, programme=programme, page=page)
    cards = _cards(result)
    pages = (result.total + result.pagelen - 1) // result.pagelen
    suggestions = _suggested_skills() if not result.total else []
    return render_template("search/results.html", q=q, skill=skill, programme=programme,
                           result=result, cards=cards, page=page, pages=pages,
                           suggestions=suggestions, facet_labels=_facet_labels(result.facets))


def _cards(result):
    """Hits with what the page shows: cover, skill, duration (read fresh from the database)."""
    hits = result.hits
    from courses.models import Course
    from courses.playback import playback
    from lms.extensions import db

    ids = [h["course"] for h in hits]
    courses = {c.id: c for c in db.session.scalars(db.select(Course).where(Course.id.in_(ids)))} if ids else {}
    cards = []
    for hit in hits:
        course = courses.get(hit["course"])
        if course is None:
            continue
        cover = None
        if course.cover_asset_id:
            info = playback(course.cover_asset_id) or {}
            cover = info.get("poster")
        minutes = round(sum(ls.duration or 0 for ls in course.lessons) / 60)
        cards.append({
            "course": course,
            "cover": cover,
            "minutes": minutes,
            # Built escaped by search.highlighting.highlight: safe to show as HTML.
            "title": Markup(result.fragments.get(course.id, {}).get("title") or escape(course.title)),
            "snippet": result.fragments.get(course.id, {}).get("summary"),
        })
    return cards


def _suggested_skills():
    from courses.queries import top_skills

    return top_skills()


CATEGORY_LABELS = {
    "agriculture": _l("Farming and animal husbandry"),
    "processing": _l("Processing and manufacturing"),
    "construction": _l("Construction, electrical and welding"),
    "services": _l("Household and personal services"),
    "commerce": _l("E-commerce and trade"),
    "transport": _l("Transport and driving"),
    "crafts": _l("Traditional crafts"),
    "tourism": _l("Rural tourism"),
}


def _facet_labels(facets) -> dict:
    from courses.models import Programme
    from lms.extensions import db

    labels = {"skill_category": {k: CATEGORY_LABELS.get(k, k) for k in facets.get("skill_category", {})}}
    codes = list(facets.get("programme", {}))
    names = dict(db.session.execute(db.select(Programme.code, Programme.name)
                                    .where(Programme.code.in_(codes))).all()) if codes else {}
    labels["programme"] = {c: names.get(c, c) for c in codes}
    return labels


@bp.route("/admin/search/synonyms", methods=["GET", "POST"])
@role_required("admin")
def synonyms():
    from lms.extensions import db
    from search.models import SynonymGroup
    from search.services import SynonymError, replace_synonyms

    error = None
    text = None
    if request.method == "POST":
        text = request.form.get("groups", "")
        if len(text) > 50_000:
            abort(413)
        try:
            rows = replace_synonyms(current_user, text)
        except SynonymError as exc:
            error = str(exc)
        else:
            flash(_("Saved %(count)d synonym groups.", count=len(rows)), "success")
            return redirect(url_for("search.synonyms"))
    if text is None:
        groups = db.session.scalars(db.select(SynonymGroup).order_by(SynonymGroup.id)).all()
        text = "\n".join(g.terms for g in groups)
    return render_template("search/synonyms.html", text=text, error=error), 400 if error else 200
