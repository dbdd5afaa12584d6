"""Sign-in and sign-out. Learners: ID number or phone + PIN; staff: username + password."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from lms.accounts import services
from lms.accounts.forms import LearnerSigninForm, StaffSigninForm
from lms.accounts import lockouts

bp = Blueprint("accounts", __name__)



def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _home_for(user) -> str:
    return url_for("main.index")


def _sign_in(user, key: str):
    session.clear()
    login_user(user)  # lms.sessions stamps the session with the account's generation
    session["last_seen"] = time.time()
    lockouts.clear(key)
    services.note_signin(user)
    flash(_("Signed in as %(name)s.", name=user.shown_name), "success")
    return redirect(_safe_next(_home_for(user)))


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """Learner sign-in: ID number or phone + 6-digit PIN."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LearnerSigninForm()
    if form.validate_on_submit():
        user = services.find_learner(form.identifier.data)
        key = lockouts.account_key(user, form.identifier.data)
        verdict = lockouts.refusal("signin", key)
        if verdict is None and (user is None or not user.check_password(form.pin.data)):
            verdict = lockouts.record_failure("signin", key, _("The ID number/phone or the PIN is wrong."))
        if verdict is not None:
            form.pin.errors.append(verdict.message)
            return render_template("accounts/signin.html", form=form), verdict.status, verdict.headers()
        if not user.is_active:
            form.pin.errors.append(_("This account is disabled. Please ask the village official."))
            return render_template("accounts/signin.html", form=form), 401
        return _sign_in(user, key)
    return render_template("accounts/signin.html", form=form), 400 if form.errors else 200


@bp.route("/signin/staff", methods=["GET", "POST"])
def signin_staff():
    """Trainers, officials and admins: username + password."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = StaffSigninForm()
    if form.validate_on_submit():
        user = services.find_staff(form.username.data)
        key = lockouts.account_key(user, form.username.data)
        verdict = lockouts.refusal("signin_staff", key)
        if verdict is None and (user is None or not user.check_password(form.password.data)):
            verdict = lockouts.record_failure("signin_staff", key, _("The username or the password is wrong."))
        if verdict is not None:
            form.password.errors.append(verdict.message)
            return render_template("accounts/signin_staff.html", form=form), verdict.status, verdict.headers()
        if not user.is_active:
            form.password.errors.append(_("This account is disabled. Please ask an administrator."))
            return render_template("accounts/signin_staff.html", form=form), 401
        return _sign_in(user, key)
    return render_template("accounts/signin_staff.html", form=form), 400 if form.errors else 200


@bp.route("/signout", methods=["POST"])
def signout():
    """Sign-out ends every session of the account (a cookie copied before is worthless)."""
    if current_user.is_authenticated:
        services.end_sessions(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out. The next person can sign in now."), "success")
    return redirect(url_for("accounts.signin"))
