"""The front door: home per role, language switch, session status for the idle warning."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from lms.extensions import db
from lms.i18n import LOCALE_COOKIE

bp = Blueprint("main", __name__)

# Each area may claim the home page of a role by endpoint; the first registered one wins.
HOME_ENDPOINTS = {
    "learner": ("learner.home",),
    "trainer": ("courses.trainer_courses", "media.my_media"),
    "official": ("stats.skills", "households.index"),
    "admin": ("admin.users",),
}


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.signin"))
    for endpoint in HOME_ENDPOINTS.get(current_user.role.value, ()):
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("main/index.html")


@bp.route("/language", methods=["POST"])
def set_language():
    code = request.form.get("lang", "")
    if code not in current_app.config["LANGUAGES"]:
        code = current_app.config["BABEL_DEFAULT_LOCALE"]
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target)
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.flush()
    return response


@bp.route("/api/v1/session")
def session_status():
    """Seconds left before idle sign-out (learners); the page warns a minute before."""
    from lms.settings import get_setting

    if not current_user.is_authenticated:
        return jsonify({"signed_in": False}), 401
    body = {"signed_in": True, "role": current_user.role.value}
    if current_user.role.value == "learner":
        import time

        limit = 60 * int(get_setting("learner_idle_minutes"))
        body["idle_seconds_left"] = max(0, int(limit - (time.time() - session.get("last_seen", time.time()))))
    return jsonify(body)


@bp.route("/api/v1/session/touch", methods=["POST"])
def touch_session():
    """The learner is still there: the idle clock restarts now."""
    import time

    if not current_user.is_authenticated:
        return jsonify({"signed_in": False}), 401
    session["last_seen"] = time.time()
    return "", 204
