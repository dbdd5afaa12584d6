"""Admin pages: users, settings, audit log, failed jobs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.access import role_required
from lms.accounts.forms import PasswordResetForm, UserCreateForm
from lms.accounts.models import Role, User
from lms.accounts.services import AccountError, create_user, end_sessions, set_password
from lms.audit import record
from lms.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required("admin")
def require_admin():
    return None


@bp.route("/users", methods=["GET", "POST"])
def users():
    from lms.regions.picker import build_picker, is_step

    form = UserCreateForm()
    if not is_step(request.form) and form.validate_on_submit():
        try:
            user = create_user(username=form.username.data, role=form.role.data, password=form.password.data,
                               region_code=form.region_code.data or None, display_name=form.display_name.data or "",
                               actor=current_user)
        except AccountError as exc:
            form.username.errors.append(str(exc))
        else:
            record(current_user, "user.create", user, {"role": user.role.value, "region": user.region_code})
            flash(_("Account created."), "success")
            return redirect(url_for("admin.users"))
    role = request.args.get("role")
    stmt = db.select(User).order_by(User.role, User.id)
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    page = db.paginate(stmt, per_page=50, error_out=False)
    status = 400 if form.errors else 200
    from lms.regions.queries import region_names

    return render_template("admin/users.html", form=form, page=page, role=role, reset_form=PasswordResetForm(),
                           region_picker=build_picker("region_code", "", form.region_code.data,
                                                      levels=(1, 2, 3, 4, 5)),
                           region_names=region_names(u.region_code for u in page.items)), status


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.users"))
    user.is_active_account = not user.is_active_account
    if not user.is_active_account:
        end_sessions(user)
    record(current_user, "user.enable" if user.is_active_account else "user.disable", user)
    flash(_("Account updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
def end_sessions_of(user_id: int):
    """Sign out everywhere: every session of the account ends at once, on every host."""
    user = db.get_or_404(User, user_id)
    end_sessions(user)
    record(current_user, "user.sessions_end", user)
    flash(_("%(name)s is signed out everywhere.", name=user.shown_name), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        set_password(user, form.password.data)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    record(current_user, "user.password_reset", user)
    flash(_("Password changed."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    from lms.settings import DEFAULTS, get_setting, set_setting

    errors = {}
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf

        validate_csrf(request.form.get("csrf_token"))
        changes = {}
        for key, default in DEFAULTS.items():
            if key not in request.form:
                continue
            raw = request.form[key].strip()
            try:
                value = default.kind(raw)
            except (TypeError, ValueError):
                errors[key] = _("Enter a valid value.")
                continue
            if value != get_setting(key):
                changes[key] = (get_setting(key), value)
        if not errors:
            for key, (old, new) in changes.items():
                set_setting(key, new)
                record(current_user, "setting.change", key, {"old": old, "new": new})
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.settings"))
    # After a refusal every field shows what was typed, not the stored value.
    rows = [(d, request.form.get(d.key, get_setting(d.key)) if errors else get_setting(d.key))
            for d in sorted(DEFAULTS.values(), key=lambda d: d.key)]
    return render_template("admin/settings.html", rows=rows, errors=errors), 400 if errors else 200


@bp.route("/audit")
def audit():
    from lms.audit.queries import actions, list_entries

    page = list_entries(action=request.args.get("action") or None,
                        actor_id=request.args.get("actor", type=int),
                        target=request.args.get("target") or None,
                        page=request.args.get("page", 1, type=int))
    from .labels import action_label, detail_lines, target_label

    return render_template("admin/audit.html", page=page, actions=actions(), action_label=action_label,
                           detail_lines=detail_lines, target_label=target_label)


@bp.route("/jobs")
def jobs():
    from lms.queue import TaskFailure, backlog

    failures = db.paginate(db.select(TaskFailure).order_by(TaskFailure.at.desc()), per_page=50, error_out=False)
    from .labels import task_label

    return render_template("admin/jobs.html", page=failures, backlog=backlog(), task_label=task_label)
