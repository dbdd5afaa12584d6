"""Sign-in sessions and the request transaction boundary.

The request is the unit of work: a response below 400 commits, anything else rolls back, so a
failed form or an error page never leaves half a change behind. Learners on shared terminals are
signed out after an idle period (admin setting ``learner_idle_minutes``).
"""
from __future__ import annotations

import time

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from lms.extensions import db, login_manager
from lms.settings import register_default

register_default("learner_idle_minutes", 10, _l("Minutes of inactivity before a learner is signed out"), int)

# Requests that don't count as activity: background heartbeats keep a playing video alive, but
# static files and the idle check itself must not.
PASSIVE_ENDPOINTS = {"static", "main.session_status"}
IDLE_GRANULARITY = 30


@login_manager.user_loader
def load_user(user_id: str):
    from lms.accounts.models import User

    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None


def _enforce_idle_signout():
    if request.endpoint in PASSIVE_ENDPOINTS or not current_user.is_authenticated:
        return None
    if current_user.role.value != "learner":
        return None
    from lms.settings import get_setting

    now = time.time()
    last_seen = session.get("last_seen")
    limit = 60 * int(get_setting("learner_idle_minutes"))
    if last_seen is not None and now - last_seen > limit:
        logout_user()
        session.pop("last_seen", None)
        g.signed_out_idle = True
        if request.path.startswith("/api/"):
            return None  # the API answers 401 itself
        flash(_("You were signed out after %(minutes)s minutes without activity.", minutes=limit // 60), "info")
        return redirect(url_for("accounts.signin", next=request.full_path if request.method == "GET" else None))
    # Rewriting the signed cookie on every heartbeat costs more than the idle clock needs: a
    # 30 s granularity against a limit of minutes.
    if last_seen is None or now - last_seen > IDLE_GRANULARITY:
        session["last_seen"] = now
    return None


def _finish_transaction(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.signin"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import abort

        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            abort(401)
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("accounts.signin", next=request.full_path))

    app.before_request(_enforce_idle_signout)
    app.after_request(_finish_transaction)
