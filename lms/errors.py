"""Error pages in the user's language; JSON errors for JSON routes."""
from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, default_exceptions

from lms.db import RETRY_AFTER, database_unavailable, rollback_quietly


def _messages():
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in first."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist, or you may not see it."),
        405: _("This action is not allowed here."),
        413: _("The file is too large."),
        416: _("The requested range is not available."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. Please try again later."),
        503: _("The service is briefly unavailable. Nothing you did is lost: please try again in a moment."),
    }


def abort_with(status: int, message: str):
    """Abort with a specific, user-facing message (shown on the error page or in the JSON error)."""
    exc = default_exceptions[status](description=message)
    exc.xiangxue_message = True
    raise exc


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )


def render_error(status: int, message: str | None = None, retry_after: int | None = None):
    text = message or _messages().get(status) or _messages()[500]
    if wants_json():
        body = {"error": {"status": status, "message": text}}
        if retry_after:
            body["error"]["retry_after"] = retry_after
        response = jsonify(body)
    else:
        response = make_response(render_template("errors/error.html", status=status, message=text,
                                                 retry_after=retry_after))
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def database_away_response():
    """503 + Retry-After while the database is away: JSON for APIs, a page for people. The page
    is drawn as for a signed-out visitor: who is signed in cannot be read without the database."""
    from flask import g

    from lms.extensions import login_manager

    g._login_user = login_manager.anonymous_user()
    return render_error(503, retry_after=RETRY_AFTER)


def init_app(app) -> None:
    from lms.extensions import db

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("Your form expired or was sent from elsewhere. Please reload the page and try again."))

    @app.errorhandler(429)
    def too_many(error):
        from lms.extensions import limiter

        retry_after = None
        current = getattr(limiter, "current_limit", None)
        if current is not None:
            import time

            retry_after = max(1, int(current.reset_at - time.time()))
        minutes = max(1, (retry_after or 60) // 60 + (1 if (retry_after or 60) % 60 else 0))
        return render_error(429, _("Too many attempts. Please try again in %(minutes)s minutes.", minutes=minutes),
                            retry_after=retry_after)

    @app.errorhandler(HTTPException)
    def http_error(error):
        # Flask wraps an error raised outside the view (the commit in an after-request hook) in a 500.
        original = getattr(error, "original_exception", None)
        if original is not None and database_unavailable(original):
            rollback_quietly(db.session)
            return database_away(original)
        message = error.description if getattr(error, "xiangxue_message", False) else None
        return render_error(error.code or 500, message)

    @app.errorhandler(Exception)
    def server_error(error):
        rollback_quietly(db.session)
        if database_unavailable(error):
            return database_away(error)
        app.logger.exception("unhandled error")
        return render_error(500)

    def database_away(error):
        app.logger.warning("database unavailable: %s", (str(error).splitlines() or [""])[0])
        return database_away_response()


class FieldError(ValueError):
    """Bad input from a person. ``str()`` is the message for them, in their language; ``field`` names the
    form field at fault, so the page shows the message under that field (None: above the form). Each
    area's error (CourseError, SkillError, RuleError, ...) is one of these."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
