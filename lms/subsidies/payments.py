"""The bank's payment list (序号, 户名, 账号, 开户银行, 金额, 摘要 and a totals row) and the bank's return
file. The list is deterministic: exporting twice gives the same bytes (fixed workbook dates, fixed
zip times). Reconciliation marks nothing when any row is wrong; totals reconcile to the fen:
exported = paid + failed + outstanding."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.regions.scope import require_in_scope
from lms.spreadsheets.sheet import Layout, SheetError, open_sheet
from lms.subsidies.batches import BatchError, staff_level_ok, target
from lms.subsidies.models import STRANDS, Account, Batch, Row
from lms.subsidies.money import MoneyError, parse_yuan, yuan, yuan_decimal


def N_(msgid: str) -> str:
    return msgid


COLUMNS = ("序号", "户名", "账号", "开户银行", "金额", "摘要")


def _check_exporter(actor, batch: Batch) -> None:
    if actor is not None and not actor.has_role("official", "admin"):
        raise BatchError(_("Only a county (or higher) official downloads the payment list."))
    require_in_scope(actor, batch.region_code)
    if not staff_level_ok(actor, 6):
        raise BatchError(_("Only a county (or higher) official downloads the payment list."))
    if batch.status != "payable":
        raise BatchError(_("The payment list is ready when the public notice has ended."))


def payment_rows(batch: Batch) -> list:
    """(id, household id, account id, amount fen, exported at) of the rows to pay, in list order."""
    return db.session.execute(select(Row.id, Row.household_id, Row.account_id, Row.amount_fen, Row.exported_at)
                              .where(Row.batch_id == batch.id, Row.status == "payable")
                              .order_by(Row.village_code, Row.id)).all()


def _double_claims(batch: Batch) -> list[int]:
    """Checked again at export: a person with another claiming row for the strand and period. The
    statuses are written out so the claim index (a partial index) answers it."""
    from sqlalchemy import text

    claims = text("subsidy_rows.status IN ('proposed', 'certified', 'payable', 'paid')")
    mine = select(Row.member_id).where(Row.batch_id == batch.id, Row.status == "payable")
    return list(db.session.scalars(
        select(Row.member_id).where(Row.member_id.in_(mine), Row.strand == batch.strand, Row.period == batch.period,
                                    claims)
        .group_by(Row.member_id).having(func.count(Row.id) > 1)))


def export_list(actor, batch: Batch) -> tuple[bytes, int, int]:
    """The payment list as XLSX bytes, with (rows, total fen). The first export pins each row's
    account (the household's current one); later exports repeat it exactly. Audited: it reveals
    account numbers."""
    from lms.subsidies.accounts import reveal

    _check_exporter(actor, batch)
    doubles = _double_claims(batch)
    if doubles:
        raise BatchError(_("Some people already have another payment for this strand and period: the list "
                           "was not made."))
    from sqlalchemy import update

    rows = payment_rows(batch)
    fresh = [r for r in rows if r.exported_at is None]
    if fresh:
        # The first export pins each row's account: the household's current one.
        current = dict(db.session.execute(select(Account.household_id, Account.id).where(
            Account.current.is_(True), Account.household_id.in_(
                select(Row.household_id).where(Row.batch_id == batch.id, Row.status == "payable")))).all())
        moved = [{"id": r.id, "account_id": current[r.household_id]} for r in fresh
                 if current.get(r.household_id, r.account_id) != r.account_id]
        if moved:
            db.session.execute(update(Row), moved)
        db.session.execute(update(Row).where(Row.batch_id == batch.id, Row.status == "payable",
                                             Row.exported_at.is_(None)).values(exported_at=utcnow()))
        rows = payment_rows(batch)
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(
        Account.id.in_(select(Row.account_id).where(Row.batch_id == batch.id, Row.status == "payable"))))}
    summary = f"雨露计划{STRANDS.get(batch.strand, '')}补助 {batch.period}"
    lines = []
    total = 0
    for n, row in enumerate(rows, 1):
        account = accounts[row.account_id]
        lines.append([n, account.holder_name, reveal(account), account.bank, yuan_decimal(row.amount_fen), summary])
        total += row.amount_fen
    data = _xlsx(lines, total, batch)
    record(actor, "subsidies.payment_export", target(batch), {"rows": len(rows), "total_yuan": yuan(total)})
    return data, len(rows), total


def _xlsx(lines: list[list], total: int, batch: Batch) -> bytes:
    """The bank's columns and a totals row (lms.exports.xlsx_stream: text cells, money as numbers
    with two decimals, the same bytes for the same rows)."""
    from lms.exports import xlsx_stream

    rows = [list(COLUMNS), *lines, ["合计", f"{len(lines)}笔", "", "", yuan_decimal(total), ""]]
    return b"".join(xlsx_stream(rows, sheet="支付清单", widths=(8, 12, 24, 24, 14, 30)))


# -- the bank's return file ---------------------------------------------------------------------

HEADERS = {
    "number": ("账号", "银行账号", "卡号"),
    "amount": ("金额", "发放金额", "实发金额"),
    "status": ("状态", "处理状态", "结果", "处理结果"),
    "message": ("失败原因", "原因", "备注"),
    "name": ("户名",),
    "seq": ("序号",),
}
REQUIRED = ("number", "amount", "status")
MESSAGES = {
    "required": N_("This value is required."),
    "bad_amount": N_("“%(value)s” is not an amount in yuan."),
    "bad_status": N_("“%(value)s” is not a status: use 成功 or 失败."),
    "unknown_account": N_("This account is not on the batch's payment list."),
    "amount_mismatch": N_("The amount differs from the payment list (%(expected)s yuan for this account)."),
    "duplicate_row": N_("This account and amount appear more times than on the payment list."),
    "already_settled": N_("This payment was already reconciled."),
}
STATUSES = {"成功": "paid", "失败": "failed"}
LAYOUT = Layout(HEADERS, REQUIRED)


@dataclass
class ReconcileReport:
    rows: int = 0
    paid: int = 0
    failed: int = 0
    errors: list[dict] = field(default_factory=list)
    unusable: bool = False
    totals: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 2 if self.unusable else (1 if self.errors else 0)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "paid": self.paid, "failed": self.failed, "errors": self.errors,
                "error_count": len(self.errors), "marked": not self.errors and not self.unusable,
                **self.totals, "exit_code": self.exit_code}


def totals(batch: Batch) -> dict:
    """Exported, paid, failed and outstanding (exported, not yet settled), in yuan text."""
    rows = dict(db.session.execute(select(Row.status, func.sum(Row.amount_fen)).where(
        Row.batch_id == batch.id, Row.exported_at.is_not(None)).group_by(Row.status)).all())
    exported = sum(rows.values())
    paid, failed, outstanding = rows.get("paid", 0), rows.get("failed", 0), rows.get("payable", 0)
    assert exported == paid + failed + outstanding, "the batch's totals do not reconcile"
    return {"exported_yuan": yuan(exported), "paid_yuan": yuan(paid), "failed_yuan": yuan(failed),
            "outstanding_yuan": yuan(outstanding)}


def reconcile(actor, batch: Batch, path: str | os.PathLike, filename: str | None = None) -> ReconcileReport:
    """Read the bank's return file; when every row matches an exported, unsettled row (account and
    amount exactly), mark each paid or failed (failed rows go back to the pool). Any error: nothing."""
    from lms.subsidies.accounts import clean_number

    _check_exporter(actor, batch)
    report = ReconcileReport()
    try:
        sheet = open_sheet(path, filename, LAYOUT)
    except SheetError as exc:
        from lms.households.messages import message

        report.unusable = True
        report.errors.append({"row": 0, "column": "", "code": exc.code, "message": message(exc.code, exc.params)})
        return report
    from lms.households.services import cipher

    digest_of = cipher().digest  # = accounts.number_digest, bound once for the whole file
    exported = db.session.execute(
        select(Row.id, Row.amount_fen, Row.status, Account.number_hash).join(Account, Account.id == Row.account_id)
        .where(Row.batch_id == batch.id, Row.exported_at.is_not(None)).order_by(Row.id)).all()
    open_rows: dict[tuple[bytes, int], list] = {}
    by_digest: dict[bytes, list] = {}
    for row in exported:
        by_digest.setdefault(bytes(row.number_hash), []).append(row)
        if row.status == "payable":
            open_rows.setdefault((bytes(row.number_hash), row.amount_fen), []).append(row)
    outcomes: list[tuple[int, str, str]] = []

    def error(number: int, name: str, code: str, **params):
        report.errors.append({"row": number, "column": sheet.header(name), "code": code,
                              "message": gettext(MESSAGES[code], **params)})

    try:
        for number, cells in sheet.rows():
            report.rows += 1
            cell = functools.partial(sheet.cell, cells)

            missing = [name for name in REQUIRED if not cell(name)]
            for name in missing:
                error(number, name, "required")
            if missing:
                continue
            try:
                fen = parse_yuan(cell("amount"))
            except MoneyError:
                error(number, "amount", "bad_amount", value=cell("amount"))
                continue
            outcome = STATUSES.get(cell("status"))
            if outcome is None:
                error(number, "status", "bad_status", value=cell("status"))
                continue
            digest = digest_of("acct:" + clean_number(cell("number")))
            if digest not in by_digest:
                error(number, "number", "unknown_account")
                continue
            queue = open_rows.get((digest, fen))
            if queue:
                outcomes.append((queue.pop(0).id, outcome, cell("message")[:200]))
                continue
            pending = [r for r in by_digest[digest] if r.status == "payable"]
            if not pending:
                error(number, "number", "already_settled")
            elif all(r.amount_fen != fen for r in pending):
                error(number, "amount", "amount_mismatch", expected=yuan(pending[0].amount_fen))
            else:
                error(number, "number", "duplicate_row")
    except SheetError as exc:
        from lms.households.messages import message

        report.unusable = True
        report.errors.append({"row": 0, "column": "", "code": exc.code, "message": message(exc.code, exc.params)})
        return report
    if report.errors or report.unusable:
        report.totals = totals(batch)
        return report
    from sqlalchemy import update

    now = utcnow()
    paid_ids = [row_id for row_id, outcome, _m in outcomes if outcome == "paid"]
    for start in range(0, len(paid_ids), 5000):  # one statement per 5,000 paid rows
        db.session.execute(update(Row).where(Row.id.in_(paid_ids[start:start + 5000]))
                           .values(status="paid", settled_at=now), execution_options={"synchronize_session": False})
    failed = [{"id": row_id, "status": "failed", "settled_at": now, "bank_message": message}
              for row_id, outcome, message in outcomes if outcome == "failed"]
    if failed:
        db.session.execute(update(Row), failed)
    db.session.expire_all()
    report.paid = sum(1 for _id, outcome, _m in outcomes if outcome == "paid")
    report.failed = len(outcomes) - report.paid
    report.totals = totals(batch)
    record(actor, "subsidies.reconcile", target(batch), {"paid": report.paid, "failed": report.failed,
                                                         **report.totals})
    return report
