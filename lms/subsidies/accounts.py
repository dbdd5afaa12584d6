"""Households' payment accounts (户名, 开户银行, 账号): entered by an official or imported. The number
is sealed with the registry's cipher and a keyed hash (for the bank's return file); pages show the
last 4 digits only. A change retires the old account (history) — nothing is overwritten."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import select

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.regions.scope import require_in_scope
from lms.subsidies.models import Account


def N_(msgid: str) -> str:
    return msgid


class AccountError(ValueError):
    """Bad account input; ``field`` names the form field at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def clean_number(raw: str) -> str:
    from lms.spreadsheets.text import normalize

    return re.sub(r"[\s-]", "", normalize(str(raw or "")))


def number_digest(number: str) -> bytes:
    from lms.households.services import cipher

    return cipher().digest("acct:" + number)


def reveal(account: Account) -> str:
    """The plain number (the payment list only; the caller audits)."""
    from lms.households.services import cipher

    return cipher().decrypt(account.number_enc)


def current_account(household_id: int) -> Account | None:
    return db.session.scalar(select(Account).where(Account.household_id == household_id,
                                                   Account.current.is_(True)))


def history(household_id: int) -> list[Account]:
    return list(db.session.scalars(select(Account).where(Account.household_id == household_id)
                                   .order_by(Account.id.desc())))


def _check(member, holder_name: str, bank: str, number: str) -> tuple[str, str, str]:
    holder_name, bank = (holder_name or "").strip(), (bank or "").strip()
    if member is None or member.removed_at is not None:
        raise AccountError(_("The account holder must be a member of the household."), "member")
    if not holder_name:
        raise AccountError(_("Give the account holder's name (户名)."), "holder_name")
    if holder_name != member.name:
        raise AccountError(_("户名 “%(name)s” is not the name of the chosen household member.", name=holder_name),
                           "holder_name")
    if not bank:
        raise AccountError(_("Give the bank (开户银行)."), "bank")
    if len(bank) > 100:
        raise AccountError(_("The bank's name is too long (at most 100 characters)."), "bank")
    if not re.fullmatch(r"\d{12,30}", number):
        raise AccountError(_("An account number has 12 to 30 digits."), "number")
    return holder_name, bank, number


def set_account(actor, household_id: int, member_id: int, holder_name: str, bank: str, raw_number: str,
                *, source: str = "form") -> tuple[Account, str]:
    """Record the household's account; returns (account, 'created' | 'changed' | 'unchanged')."""
    from lms.households.models import Household, Member
    from lms.households.services import cipher

    household = db.session.get(Household, household_id)
    if household is None:
        raise AccountError(_("No such household."))
    require_in_scope(actor, household.village_code)
    member = db.session.get(Member, member_id) if member_id else None
    if member is not None and member.household_id != household.id:
        member = None
    holder_name, bank, number = _check(member, holder_name, bank, clean_number(raw_number))
    digest = number_digest(number)
    old = current_account(household.id)
    if old is not None and (old.number_hash, old.bank, old.member_id, old.holder_name) == (
            digest, bank, member.id, holder_name):
        return old, "unchanged"
    if old is not None:
        old.current = None
        old.replaced_at = utcnow()
        db.session.flush()
    account = Account(household_id=household.id, member_id=member.id, holder_name=holder_name, bank=bank,
                      number_enc=cipher().encrypt(number), number_hash=digest, last4=number[-4:], current=True,
                      created_by_id=getattr(actor, "id", None))
    db.session.add(account)
    db.session.flush()
    record(actor, "subsidies.account_set", f"Household:{household.id}",
           {"account": account.id, "replaces": old.id if old else None, "member": member.id, "bank": bank,
            "number": account.masked, "source": source})
    return account, "changed" if old else "created"


# -- import -------------------------------------------------------------------------------------

HEADERS = {
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号码"),
    "holder_name": ("户名", "账户名", "开户人", "持卡人"),
    "bank": ("开户银行", "开户行", "银行"),
    "number": ("账号", "银行账号", "卡号", "一卡通账号"),
}
REQUIRED = ("id_number", "holder_name", "bank", "number")
MESSAGES = {
    "required": N_("This value is required."),
    "unknown_person": N_("No registered member has this ID number."),
    "duplicate_in_file": N_("This household already has an account earlier in the file (row %(row)s)."),
}
_LAYOUT = None


def _layout():
    from lms.spreadsheets.sheet import Layout

    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = Layout(HEADERS, REQUIRED)
    return _LAYOUT


def message(code: str, params: dict) -> str:
    if code in MESSAGES:
        return gettext(MESSAGES[code], **params)
    if code == "account":
        return params["text"]
    from lms.households.messages import message as registry_message

    return registry_message(code, params)


@dataclass(order=True)
class Issue:
    row: int
    column: str
    code: str
    params: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": message(self.code, self.params)}


@dataclass
class AccountReport:
    rows: int = 0
    accounts_created: int = 0
    accounts_changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    format: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    dry_run: bool = False
    unusable: bool = False

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return 2
        return 1 if self.rejected else 0

    def as_dict(self) -> dict:
        return {"rows": self.rows, "accounts_created": self.accounts_created,
                "accounts_changed": self.accounts_changed, "unchanged": self.unchanged,
                "rejected": self.rejected, "warnings": [i.as_dict() for i in sorted(self.warnings)],
                "errors": [i.as_dict() for i in sorted(self.errors)], "error_count": len(self.errors),
                "warning_count": len(self.warnings), "unknown_columns": self.unknown_columns,
                "format": self.format, "encoding": self.encoding, "header_row": self.header_row,
                "dry_run": self.dry_run, "exit_code": self.exit_code}


def import_accounts(path: str | os.PathLike, *, filename: str | None = None, dry_run: bool = False,
                    actor=None) -> AccountReport:
    """Each row: the holder (by ID number) and the household's account. A rejected row changes
    nothing; the caller commits (or rolls back a dry run)."""
    from lms.households.idnumbers import IdError, parse_id
    from lms.households.queries import member_by_id_number
    from lms.spreadsheets.sheet import SheetError, open_sheet
    from lms.spreadsheets.text import clean_cell
    from lms.regions.scope import write_prefix

    scope = write_prefix(actor)
    report = AccountReport(dry_run=dry_run)
    try:
        sheet = open_sheet(path, filename, _layout())
    except SheetError as exc:
        report.unusable = True
        report.errors.append(Issue(0, "", exc.code, exc.params))
        return report
    report.format, report.encoding, report.header_row = sheet.format, sheet.encoding, sheet.header_row
    report.unknown_columns = sheet.unknown_columns
    cols = sheet.mapping

    def column(name: str) -> str:
        return sheet.headers[cols[name]] if name in cols else HEADERS[name][0]

    seen: dict[int, int] = {}
    try:
        for number, cells in sheet.rows():
            report.rows += 1

            def cell(name: str) -> str:
                i = cols.get(name)
                return clean_cell(cells[i]) if i is not None and i < len(cells) else ""

            errors = [Issue(number, column(name), "required") for name in REQUIRED if not cell(name)]
            member = None
            if cell("id_number"):
                try:
                    parse_id(cell("id_number"))
                except IdError as exc:
                    errors.append(Issue(number, column("id_number"), exc.code, exc.params))
                else:
                    member = member_by_id_number(cell("id_number"))
                    if member is None or member.removed_at is not None:
                        errors.append(Issue(number, column("id_number"), "unknown_person"))
                        member = None
                    elif not member.household.village_code.startswith(scope):
                        errors.append(Issue(number, column("id_number"), "out_of_scope"))
                        member = None
            if member is not None and not errors:
                if member.household_id in seen:
                    errors.append(Issue(number, column("id_number"), "duplicate_in_file",
                                        {"row": seen[member.household_id]}))
                else:
                    seen[member.household_id] = number
            if not errors:
                try:
                    with db.session.begin_nested():
                        _account, outcome = set_account(actor, member.household_id, member.id, cell("holder_name"),
                                                        cell("bank"), cell("number"), source="import")
                except AccountError as exc:
                    name = {"holder_name": "holder_name", "bank": "bank", "number": "number"}.get(exc.field,
                                                                                                "id_number")
                    errors.append(Issue(number, column(name), "account", {"text": str(exc)}))
                else:
                    setattr(report, {"created": "accounts_created", "changed": "accounts_changed",
                                     "unchanged": "unchanged"}[outcome],
                            getattr(report, {"created": "accounts_created", "changed": "accounts_changed",
                                             "unchanged": "unchanged"}[outcome]) + 1)
            if errors:
                report.rejected += 1
                report.errors.extend(errors)
    except SheetError as exc:
        report.unusable = True
        report.errors.append(Issue(0, "", exc.code, exc.params))
    return report
