"""Households' payment accounts (户名, 开户银行, 账号): entered by an official or imported. The number
is sealed with the registry's cipher and a keyed hash (for the bank's return file); pages show the
last 4 digits only. A change retires the old account (history) — nothing is overwritten."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import ClassVar

from flask_babel import gettext as _
from sqlalchemy import select

from lms.audit import record
from lms.db import utcnow
from lms.errors import FieldError
from lms.extensions import db
from lms.households.messages import HOUSEHOLD_MESSAGES
from lms.regions.scope import require_in_scope
from lms.spreadsheets.report import ImportReport, Issue, Messages, N_
from lms.spreadsheets.sheet import Layout
from lms.subsidies.models import Account


class AccountError(FieldError):
    """Bad account input; ``field`` names the form field at fault."""


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
    "account": "%(text)s",  # set_account's own message (AccountError), already translated
}
ACCOUNT_MESSAGES = Messages(MESSAGES, base=HOUSEHOLD_MESSAGES)
LAYOUT = Layout(HEADERS, REQUIRED)
_COUNTED = {"created": "accounts_created", "changed": "accounts_changed", "unchanged": "unchanged"}


@dataclass
class AccountReport(ImportReport):
    COUNTS: ClassVar[tuple[str, ...]] = ("accounts_created", "accounts_changed")
    messages: ClassVar[Messages] = ACCOUNT_MESSAGES

    accounts_created: int = 0
    accounts_changed: int = 0


def import_accounts(path: str | os.PathLike, *, filename: str | None = None, dry_run: bool = False,
                    actor=None) -> AccountReport:
    """Each row: the holder (by ID number) and the household's account. A rejected row changes
    nothing; the caller commits (or rolls back a dry run)."""
    from lms.households.queries import row_person
    from lms.regions.scope import write_prefix

    scope = write_prefix(actor)
    report = AccountReport(dry_run=dry_run)
    sheet = report.open(path, filename, LAYOUT)
    if sheet is None:
        return report
    column = sheet.header
    seen: dict[int, int] = {}
    for number, cell in report.read(sheet):
        member, errors = row_person(number, cell, column, scope, REQUIRED)
        if member is not None and not errors:
            if member.household_id in seen:
                errors.append(Issue(number, column("id_number"), "duplicate_in_file",
                                    {"row": seen[member.household_id]}))
            else:
                seen[member.household_id] = number
        if not errors:
            try:
                # No savepoint: set_account refuses before it writes. (On SQLite a savepoint opened
                # before the transaction's first write is released with a COMMIT, so a dry run or a
                # file found unreadable later could not have been rolled back.)
                _account, outcome = set_account(actor, member.household_id, member.id, cell("holder_name"),
                                                cell("bank"), cell("number"), source="import")
            except AccountError as exc:
                name = exc.field if exc.field in ("holder_name", "bank", "number") else "id_number"
                errors.append(Issue(number, column(name), "account", {"text": str(exc)}))
            else:
                counted = _COUNTED[outcome]
                setattr(report, counted, getattr(report, counted) + 1)
        if errors:
            report.reject(errors)
    return report
