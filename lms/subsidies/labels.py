"""Names of the area's audit actions, for the batch history and the admin's audit log."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "subsidies.rule_set": _l("Rule set"),
    "subsidies.account_set": _l("Payment account recorded"),
    "subsidies.accounts_import": _l("Payment accounts imported"),
    "subsidies.enrolments_import": _l("Enrolment lists imported"),
    "subsidies.batch_create": _l("Batch created"),
    "subsidies.rows_certify": _l("Rows certified by the village (核实)"),
    "subsidies.row_exclude": _l("Row excluded by the village"),
    "subsidies.batch_submit": _l("Submitted by the township"),
    "subsidies.batch_approve": _l("Approved by the county; public notice opened"),
    "subsidies.objection_raise": _l("Objection recorded (异议)"),
    "subsidies.objection_settle": _l("Objection settled"),
    "subsidies.notice_end": _l("Public notice ended"),
    "subsidies.payment_export": _l("Payment list downloaded"),
    "subsidies.reconcile": _l("Bank return file reconciled"),
}

FIELDS = {
    "region": _l("Region"), "strand": _l("Strand"), "period": _l("Period"), "rows": _l("Rows"),
    "total_yuan": _l("Total (yuan)"), "excluded": _l("Not proposed"), "rule": _l("Rule"),
    "programme": _l("Programme"), "amount_yuan": _l("Amount (yuan)"), "evidence": _l("Evidence"),
    "min_age": _l("Minimum age"), "max_age": _l("Maximum age"), "per": _l("How often"),
    "categories": _l("Household categories"), "valid_from": _l("Valid from"), "valid_to": _l("Valid to"),
    "account": _l("Payment account"), "replaces": _l("Replaces account"), "member": _l("Member"), "bank": _l("Bank"),
    "number": _l("Account number"), "source": _l("Source"), "notice_from": _l("Notice from"),
    "notice_until": _l("Notice ends before"), "revoked_rows": _l("Rows whose evidence was withdrawn"),
    "row": _l("Row"), "objection": _l("Objection"), "outcome": _l("Outcome"), "paid": _l("Paid"),
    "failed": _l("Failed payments"), "exported_yuan": _l("Exported (yuan)"), "paid_yuan": _l("Paid (yuan)"),
    "failed_yuan": _l("Failed (yuan)"), "outstanding_yuan": _l("Outstanding (yuan)"), "payable": _l("Payable"),
    "reason": _l("Reason"),
}
SOURCES = {"form": _l("entered on the page"), "import": _l("imported from a file")}


def code_names() -> dict[str, str]:
    """Every code the area's audit details carry, with its name (for the history and the admin log)."""
    from lms.subsidies.models import EVIDENCE, FREQUENCIES, OUTCOMES, STRANDS

    names: dict[str, str] = {}
    for table in (STRANDS, EVIDENCE, FREQUENCIES, OUTCOMES):
        names.update(table)
    names.update({k: str(v) for k, v in SOURCES.items()})
    return names


def detail_lines(details: dict | None) -> list[tuple[str, str]]:
    """An audit entry's details as (field, value) lines a person reads."""
    if not details:
        return []
    names = code_names()

    def value(v) -> str:
        if v is None or v == "" or v == []:
            return "—"
        if isinstance(v, list):
            return "、".join(value(x) for x in v)
        return names.get(str(v), str(v))

    return [(str(FIELDS.get(k, k)), value(v)) for k, v in details.items()]
