"""Sign-in and sign-out. Learners: ID number or phone + PIN; staff: username + password."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from lms.accounts import services
from lms.accounts.forms import LearnerSigninForm, StaffSigninForm
from lms.crypto import keyed_hash, normalize_identifier
from lms.extensions import limiter

bp = Blueprint("accounts", __name__)

# PINs are 6 digits: 5 failures per account per 15 minutes, 30 per address (a village centre
# shares one address, so that limit is looser).
ACCOUNT_LIMIT = "5 per 15 minutes"
ADDRESS_LIMIT = "30 per 15 minutes"


def _failed(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    submitted = request.form.get("identifier") or request.form.get("username") or ""
    return "signin:" + keyed_hash(normalize_identifier(submitted), "ratelimit")


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _home_for(user) -> str:
    return url_for("main.index")


def _sign_in(user):
    session.clear()
    login_user(user)
    session["last_seen"] = time.time()
    services.note_signin(user)
    flash(_("Signed in as %(name)s.", name=user.shown_name), "success")
    return redirect(_safe_next(_home_for(user)))


signin_limits = [
    limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=_failed),
    limiter.limit(ACCOUNT_LIMIT, methods=["POST"], key_func=_account_key, deduct_when=_failed),
]


def _limited(view):
    for decorate in signin_limits:
        view = decorate(view)
    return view


@bp.route("/signin", methods=["GET", "POST"])
@_limited
def signin():
    """Learner sign-in: ID number or phone + 6-digit PIN."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LearnerSigninForm()
    if form.validate_on_submit():
        user = services.authenticate_learner(form.identifier.data, form.pin.data)
        if user is None or user.role.value != "learner":
            form.pin.errors.append(_("The ID number/phone or the PIN is wrong."))
            return render_template("accounts/signin.html", form=form), 401
        if not user.is_active:
            form.pin.errors.append(_("This account is disabled. Please ask the village official."))
            return render_template("accounts/signin.html", form=form), 401
        return _sign_in(user)
    return render_template("accounts/signin.html", form=form), 400 if form.errors else 200


@bp.route("/signin/staff", methods=["GET", "POST"])
@_limited
def signin_staff():
    """Trainers, officials and admins: username + password."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = StaffSigninForm()
    if form.validate_on_submit():
        user = services.authenticate_staff(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The username or the password is wrong."))
            return render_template("accounts/signin_staff.html", form=form), 401
        if not user.is_active:
            form.password.errors.append(_("This account is disabled. Please ask an administrator."))
            return render_template("accounts/signin_staff.html", form=form), 401
        return _sign_in(user)
    return render_template("accounts/signin_staff.html", form=form), 400 if form.errors else 200


@bp.route("/signout", methods=["POST"])
def signout():
    logout_user()
    session.clear()
    flash(_("You are signed out. The next person can sign in now."), "success")
    return redirect(url_for("accounts.signin"))
