"""The progress API, certificates, public verification and village-terminal sign-in."""
from __future__ import annotations

import hmac

from flask import (Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from flask_wtf.csrf import CSRFError, validate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms.validators import ValidationError

from lms import bounded
from lms.accounts import terminals
from lms.accounts.access import role_required
from lms.accounts.models import Terminal
from lms.extensions import csrf, db, limiter
from lms.learning import services
from lms.learning.models import Certificate

bp = Blueprint("learning", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/learning")


@bp.before_app_request
def _terminal_front_door():
    # On a registered village terminal the sign-in page is the pick-your-name grid.
    if (request.endpoint == "accounts.signin" and request.method == "GET" and not request.args.get("manual")
            and request.cookies.get(terminals.COOKIE) and terminals.current_terminal() is not None):
        return redirect(url_for("learning.terminal_signin", next=request.args.get("next") or None))
    return None


# ---------------------------------------------------------------- progress API

@limiter.request_filter
def _is_heartbeat() -> bool:
    # Heartbeats carry no rate limit (the limiter's work is a tenth of a heartbeat's): the
    # server's pacing clock already refuses claims faster than playback.
    return request.endpoint == "learning.progress"


@bp.route("/api/v1/progress", methods=["POST"])
@csrf.exempt
def progress():
    """A player heartbeat. CSRF comes in the X-CSRFToken header or, from sendBeacon (which cannot
    set headers), in the body's ``csrf_token``."""
    if not current_user.is_authenticated:
        return jsonify({"error": "not_signed_in"}), 401
    body = request.get_json(silent=True, force=True)
    token = request.headers.get("X-CSRFToken") or (body.get("csrf_token") if isinstance(body, dict) else None)
    if not _csrf_ok(token):
        return jsonify({"error": "csrf", "message": _("The page has expired; reload it.")}), 403
    try:
        result = services.record_heartbeat(current_user.id, body)
    except services.ProgressError as exc:
        return jsonify({"error": exc.code, "message": exc.message}), exc.status
    return jsonify(result.as_json())


# Signed CSRF tokens already verified in this process, mapped to their raw value. A page's token
# never changes and does not expire (WTF_CSRF_TIME_LIMIT is None), so checking its signature once
# is enough; the raw value is still compared with this session's on every heartbeat.
_VERIFIED_TOKENS: dict[str, str] = {}
VERIFIED_TOKENS_LIMIT = 32768  # about 200 bytes each: more learners than one server answers


def _csrf_ok(token) -> bool:
    if not isinstance(token, str) or not token:
        return False
    if token not in _VERIFIED_TOKENS:
        try:
            validate_csrf(token)
        except (ValidationError, CSRFError):
            return False
        if current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
            return True
        bounded.put(_VERIFIED_TOKENS, token, session["csrf_token"], VERIFIED_TOKENS_LIMIT)
        return True
    return csrf_token_known(token, session.get("csrf_token"))


def csrf_token_known(token, expected) -> bool:
    """True when ``token`` was verified earlier in this process and is the session's (``expected``)."""
    raw = _VERIFIED_TOKENS.get(token) if isinstance(token, str) else None
    return raw is not None and isinstance(expected, str) and hmac.compare_digest(expected, raw)


# ---------------------------------------------------------------- certificates

def _qr_svg(url: str) -> Markup:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return Markup(img.to_string(encoding="unicode"))


@bp.route("/certificates/<int:cert_id>")
@role_required("learner", "trainer", "official", "admin")
def certificate(cert_id):
    cert = db.get_or_404(Certificate, cert_id)
    if cert.user_id != current_user.id and not current_user.has_role("trainer", "admin", "official"):
        abort(404)
    if current_user.has_role("official"):
        from lms.accounts.models import User
        from lms.regions.scope import ensure_in_scope

        ensure_in_scope(current_user, db.session.get(User, cert.user_id).region_code)
    verify_url = url_for("learning.verify", code=cert.code, _external=True)
    return render_template("learning/certificate.html", cert=cert, verify_url=verify_url,
                           qr=_qr_svg(verify_url))


@bp.route("/verify/<code>")
@limiter.limit("60 per minute")
def verify(code):
    """Public: anyone holding the paper can check it. Only non-sensitive fields are shown."""
    cert = db.session.scalar(select(Certificate).where(Certificate.code == code.strip().upper()))
    return render_template("learning/verify.html", cert=cert, code=code), (200 if cert else 404)


# ---------------------------------------------------------------- village terminals

@bp.route("/terminals", methods=["GET", "POST"])
@role_required("admin")
def terminals_page():
    from lms.regions.models import Region

    from lms.regions.picker import build_picker, deepest_choice, is_step
    from lms.regions.queries import region_names

    error = field = None
    code = deepest_choice(request.form.getlist("region")) or ""
    if request.method == "POST" and not is_step(request.form):
        name = request.form.get("name", "").strip()
        region = db.session.get(Region, code) if code else None
        if not name:
            error, field = _("Give the terminal a name."), "name"
        elif region is None or region.level != 5:
            error, field = _("Choose the village where the terminal stands."), "region"
        else:
            terminal, token = terminals.register_terminal(current_user, name, code,
                                                          request.form.get("data_saver") == "1")
            flash(_("This browser is now the terminal “%(name)s”.", name=terminal.name), "success")
            response = make_response(redirect(url_for("learning.terminals_page")))
            response.set_cookie(terminals.COOKIE, token, max_age=terminals.COOKIE_AGE, httponly=True,
                                samesite="Lax", secure=request.is_secure)
            return response
    rows = list(db.session.scalars(select(Terminal).order_by(Terminal.id.desc())))
    return render_template("learning/terminals.html", rows=rows, error=error, field=field, form=request.form,
                           village_picker=build_picker("region", "", code, levels=(5,)),
                           region_names=region_names(t.region_code for t in rows),
                           here=terminals.current_terminal()), (400 if error else 200)


@bp.route("/terminals/<int:terminal_id>/retire", methods=["POST"])
@role_required("admin")
def retire_terminal(terminal_id):
    from lms.audit import record

    terminal = db.get_or_404(Terminal, terminal_id)
    terminal.active = False
    record(current_user, "terminal.retire", f"terminal:{terminal.id}")
    flash(_("Terminal retired."), "success")
    return redirect(url_for("learning.terminals_page"))


def _terminal_or_signin():
    terminal = terminals.current_terminal()
    if terminal is None:
        return None, redirect(url_for("accounts.signin", manual=1))
    return terminal, None


@bp.route("/terminal")
def terminal_signin():
    terminal, away = _terminal_or_signin()
    if away:
        return away
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("learning/terminal_grid.html", terminal=terminal,
                           learners=terminals.village_learners(terminal), last4=terminals.last4)


@bp.route("/terminal/<int:user_id>", methods=["GET", "POST"])
def terminal_pin(user_id):
    from lms.accounts import lockouts
    from lms.accounts.models import Role, User

    terminal, away = _terminal_or_signin()
    if away:
        return away
    user = db.session.get(User, user_id)
    if (user is None or user.role is not Role.learner or user.region_code != terminal.region_code
            or not user.is_active):
        abort(404)
    error, status, headers = None, 200, {}
    if request.method == "POST":
        # The same count as /signin: 5 wrong PINs per learner whichever route they come by.
        key = lockouts.account_key(user)
        verdict = lockouts.refusal("terminal", key)
        pin = request.form.get("pin", "").strip()
        if verdict is None and not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
            # Not a PIN at all (empty, a digit short): said plainly, and no try is used up.
            return render_template("learning/terminal_pin.html", terminal=terminal, user=user,
                                   error=_("A PIN is exactly 6 digits."), last4=terminals.last4), 400
        if verdict is None and user.check_password(pin):
            from lms.accounts import services as account_services

            session.clear()
            login_user(user)
            lockouts.clear(key)
            account_services.note_signin(user)
            flash(_("Signed in as %(name)s.", name=user.shown_name), "success")
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("main.index")
            return redirect(target)
        if verdict is None:
            verdict = lockouts.record_failure("terminal", key, _("The PIN is wrong."))
        error, status, headers = verdict.message, verdict.status, verdict.headers()
    return render_template("learning/terminal_pin.html", terminal=terminal, user=user, error=error,
                           last4=terminals.last4), status, headers
