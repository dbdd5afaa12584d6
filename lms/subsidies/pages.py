"""More pages of the area: the payment list download and the bank's return file (county), a
household's payment account (village and above), the figures per region with their JSON and Excel
export, and the rules (admin). Registered on the area's blueprint by importing this module."""
from __future__ import annotations

import re

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.access import role_required
from lms.extensions import db
from lms.subsidies.views import STAFF, _batch_or_404, bp, render_batch

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(data: bytes, filename: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@bp.post("/subsidies/batches/<int:batch_id>/payments.xlsx")
@role_required(*STAFF)
def payments(batch_id: int):
    """The payment list: a POST (with the CSRF token), because the first download pins each row's
    account and every download is audited."""
    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError
    from lms.subsidies.payments import export_list

    batch = _batch_or_404(batch_id)
    try:
        data, _count, _total = export_list(current_user, batch)
    except OutOfScope:
        db.session.rollback()
        abort(404)
    except BatchError as exc:
        db.session.rollback()
        return render_batch(batch, 400, str(exc))
    db.session.commit()
    return _attachment(data, f"支付清单-{batch.region.name}-{batch.period}-{batch.id}.xlsx")


@bp.post("/subsidies/batches/<int:batch_id>/reconcile")
@role_required(*STAFF)
def reconcile(batch_id: int):
    import os
    import tempfile

    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError
    from lms.subsidies.payments import reconcile as run

    batch = _batch_or_404(batch_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_batch(batch, 400, _("Choose the bank's return file."))
    suffix = ".xlsx" if upload.filename.lower().endswith(".xlsx") else ".csv"
    handle, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as fh:
            upload.save(fh)
        try:
            report = run(current_user, batch, path, filename=upload.filename)
        except OutOfScope:
            db.session.rollback()
            abort(404)
        except BatchError as exc:
            db.session.rollback()
            return render_batch(batch, 400, str(exc))
    finally:
        os.unlink(path)
    if report.exit_code:
        db.session.rollback()
        lines = "；".join(f"{_('row %(row)s', row=e['row'])} {e['column']}：{e['message']}" for e in report.errors[:20])
        return render_batch(batch, 400, _("Nothing was marked: %(errors)s", errors=lines))
    db.session.commit()
    flash(_("Reconciled: %(paid)d paid, %(failed)d failed.", paid=report.paid, failed=report.failed), "success")
    return redirect(url_for("subsidies.batch", batch_id=batch.id), 303)


# -- a household's account ----------------------------------------------------------------------

def _household_or_404(household_id: int):
    from lms.households.models import Household
    from lms.regions.scope import ensure_in_scope

    household = db.get_or_404(Household, household_id)
    ensure_in_scope(current_user, household.village_code)
    return household


def _render_account(household, status: int = 200, error: str | None = None, field: str | None = None, form=None):
    from lms.subsidies.accounts import history

    members = [m for m in household.members if m.removed_at is None]
    return render_template("subsidies/account.html", household=household, members=members,
                           accounts=history(household.id), error=error, field=field, form=form or {}), status


@bp.get("/subsidies/households/<int:household_id>/account")
@role_required(*STAFF)
def account(household_id: int):
    return _render_account(_household_or_404(household_id))


@bp.post("/subsidies/households/<int:household_id>/account")
@role_required(*STAFF)
def account_save(household_id: int):
    from lms.subsidies.accounts import AccountError, set_account

    household = _household_or_404(household_id)
    form = request.form
    member = form.get("member", "")
    try:
        _account, outcome = set_account(current_user, household.id, int(member) if member.isdigit() else 0,
                                        form.get("holder_name", ""), form.get("bank", ""), form.get("number", ""))
    except AccountError as exc:
        db.session.rollback()
        return _render_account(household, 400, str(exc), exc.field, form)
    db.session.commit()
    flash(_("The account is recorded.") if outcome != "unchanged" else _("The account is unchanged."), "success")
    return redirect(url_for("subsidies.account", household_id=household.id), 303)


# -- figures ------------------------------------------------------------------------------------

def _region():
    from lms.regions.models import Region
    from lms.regions.scope import ensure_in_scope

    code = (request.args.get("region") or "").strip() or current_user.region_code or db.session.scalar(
        db.select(Region.code).where(Region.level == 1).order_by(Region.code)) or ""
    region = db.session.get(Region, code) if re.fullmatch(r"\d{12}", code) else None
    if region is None:
        abort(404)
    ensure_in_scope(current_user, region.code)
    return region


@bp.get("/subsidies/figures")
@role_required(*STAFF)
def figures():
    from lms.regions.queries import ancestors_of
    from lms.regions.scope import code_in_scope
    from lms.subsidies.figures import households_of, region_figures
    from lms.subsidies.models import STRANDS

    region = _region()
    crumbs = [r for r in ancestors_of(region) if code_in_scope(current_user, r.code)]
    return render_template("subsidies/figures.html", region=region, crumbs=crumbs, data=region_figures(region),
                           strands=STRANDS, households=households_of(region.code) if region.level == 5 else None)


@bp.get("/subsidies/figures.xlsx")
@role_required(*STAFF)
def figures_export():
    from lms.subsidies.exports import figures_xlsx
    from lms.subsidies.figures import region_figures

    region = _region()
    return _attachment(figures_xlsx(region_figures(region)), f"雨露计划补助-{region.name}-{region.code}.xlsx")


@bp.get("/api/v1/stats/subsidies")
@role_required(*STAFF)
def figures_api():
    from lms.subsidies.figures import as_json, region_figures

    region = _region()
    return jsonify(as_json(region, region_figures(region)))


# -- rules (admin) --------------------------------------------------------------------------------

def _render_rules(status: int = 200, error: str | None = None, field: str | None = None, form=None):
    from courses.models import Programme
    from lms.households.categories import PovertyStatus
    from lms.subsidies.models import DEFAULT_CATEGORIES, EVIDENCE, FREQUENCIES, STRANDS, Rule

    rules = list(db.session.scalars(db.select(Rule).order_by(Rule.strand, Rule.id.desc())))
    programmes = list(db.session.scalars(db.select(Programme).order_by(Programme.id)))
    chosen = form.getlist("categories") if form else DEFAULT_CATEGORIES.split(",")
    return render_template("subsidies/rules.html", rules=rules, programmes=programmes, strands=STRANDS,
                           evidence=EVIDENCE, frequencies=FREQUENCIES, categories=list(PovertyStatus),
                           category_names={c.value: c.label for c in PovertyStatus}, chosen=chosen,
                           error=error, field=field, form=form or {}), status


@bp.get("/subsidies/rules")
@role_required("admin")
def rules():
    return _render_rules()


def _whole_number(form, name: str) -> int:
    from lms.subsidies.rules import RuleError

    try:
        return int(form.get(name, "").strip())
    except ValueError:
        raise RuleError(_("Write the age as a whole number, for example 16."), name) from None


def _day(form, name: str):
    import datetime as dt

    from lms.subsidies.rules import RuleError

    try:
        return dt.date.fromisoformat(form[name]) if form.get(name) else None
    except ValueError:
        raise RuleError(_("Write the date as YYYY-MM-DD, for example 2027-01-01."), name) from None


@bp.post("/subsidies/rules")
@role_required("admin")
def rules_save():
    from lms.subsidies.money import MoneyError, parse_yuan
    from lms.subsidies.rules import RuleError, set_rule

    form = request.form
    try:
        try:
            fen = parse_yuan(form.get("amount", ""))
        except MoneyError:
            raise RuleError(_("Give the amount in yuan with at most two decimals, for example 1500."), "amount") from None
        # A page with every category box unticked sends none: that is a choice to refuse, not the default.
        set_rule(current_user, strand=form.get("strand", ""), programme=form.get("programme") or None, amount_fen=fen,
                 evidence=form.get("evidence", ""), min_age=_whole_number(form, "min_age"),
                 max_age=_whole_number(form, "max_age"), per=form.get("per", ""),
                 categories=",".join(form.getlist("categories")), valid_from=_day(form, "valid_from"),
                 valid_to=_day(form, "valid_to"))
    except RuleError as exc:
        db.session.rollback()
        return _render_rules(400, str(exc), exc.field, form)
    db.session.commit()
    flash(_("The rule is saved; batches already made keep their amounts."), "success")
    return redirect(url_for("subsidies.rules"), 303)
