"""The report of a spreadsheet import, the same for every import (regions, households, skill
certificates): each issue on the row number the official sees, its message by code, the counts,
the exit code, and the lines the command prints.

An import subclasses ``ImportReport`` with its own counts (``COUNTS``, named in the JSON report
after ``rows``) and its own ``Messages`` (codes → English msgids, translated when shown; a code
it does not know is looked up in ``SHEET`` and so on down its ``base``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from flask_babel import gettext

# A report keeps this many errors and warnings; the counts are always exact.
REPORT_LIMIT = 20_000
# The command prints this many errors; the rest are in the JSON report.
PRINTED_ERRORS = 50


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; translated when shown."""
    return msgid


class Issue(NamedTuple):
    """An error or warning: the row as the official sees it (0 for the whole file), the column by
    its header, a code, and the values its message names."""

    row: int
    column: str
    code: str
    params: MappingProxyType | dict = MappingProxyType({})


def issue_order(issue: Issue):
    """Row, then column, then code: the order the official reads issues in."""
    return issue.row, issue.column, issue.code


class Messages:
    """Codes → msgids; ``variants`` (code, param) → another msgid when that param is given;
    a code not here is looked up in ``base``; an unknown code is shown as it is."""

    def __init__(self, table: dict[str, str], variants: dict[tuple[str, str], str] | None = None,
                 base: Messages | None = None):
        self.table, self.variants, self.base = table, variants or {}, base

    def msgid(self, code: str, params) -> str | None:
        for (variant_code, param), msgid in self.variants.items():
            if variant_code == code and param in params:
                return msgid
        msgid = self.table.get(code)
        if msgid is None and self.base is not None:
            return self.base.msgid(code, params)
        return msgid

    def __call__(self, code: str, params) -> str:
        msgid = self.msgid(code, params)
        return gettext(msgid, **params) if msgid else code

    def issue_dict(self, issue: Issue) -> dict:
        """An error or warning as the report shows it."""
        return {"row": issue.row, "column": issue.column, "code": issue.code,
                "message": self(issue.code, issue.params)}


# A file that cannot be used at all (lms.spreadsheets.sheet.SheetError's codes). "no_header" names
# the columns an import's header must have: each import says it in its own messages.
SHEET_MESSAGES = {
    "unreadable": N_("The file cannot be read: %(reason)s"),
    "empty": N_("The file is empty."),
    "encoding": N_("The file is not valid %(encoding)s text. Save it again as UTF-8 or GBK CSV, or as XLSX."),
    "missing_columns": N_("Required columns are missing: %(columns)s."),
}
SHEET = Messages(SHEET_MESSAGES)


@dataclass
class ImportReport:
    """Counts, the issues found, what the file was, and the exit code: 0 every row imported,
    1 some rows rejected (the rest imported), 2 the file unusable and nothing imported."""

    COUNTS: ClassVar[tuple[str, ...]] = ()
    messages: ClassVar[Messages] = SHEET

    rows: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    format: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    unusable: bool = False
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return 2
        return 1 if self.rejected else 0

    def add_errors(self, issues: list[Issue]) -> None:
        self.error_count += len(issues)
        room = REPORT_LIMIT - len(self.errors)
        if room > 0:
            self.errors.extend(issues[:room])

    def add_warnings(self, issues: list[Issue]) -> None:
        self.warning_count += len(issues)
        room = REPORT_LIMIT - len(self.warnings)
        if room > 0:
            self.warnings.extend(issues[:room])

    def reject(self, issues: list[Issue]) -> None:
        """One row not imported, for these reasons."""
        self.rejected += 1
        self.add_errors(issues)

    def file_unusable(self, code: str, params=MappingProxyType({})) -> None:
        self.unusable = True
        self.add_errors([Issue(0, "", code, params)])

    def opened(self, sheet) -> None:
        """What the reader found: the format, the encoding, the header row, the unknown columns."""
        self.format, self.encoding, self.header_row = sheet.format, sheet.encoding, sheet.header_row
        self.unknown_columns = sheet.unknown_columns

    def open(self, path, filename, layout):
        """The import's sheet (lms.spreadsheets.sheet.open_sheet), or None when the file cannot be
        used (recorded: exit code 2)."""
        from lms.spreadsheets.sheet import SheetError, open_sheet

        try:
            sheet = open_sheet(path, filename, layout)
        except SheetError as exc:
            self.file_unusable(exc.code, exc.params)
            return None
        self.opened(sheet)
        return sheet

    def read(self, sheet):
        """Each data row as (row number, ``cell(field)`` → its cleaned text), counted in ``rows``.
        A file found unreadable part-way (a bad byte deep in a CSV) ends the rows and is recorded
        as unusable: the import then changes nothing (its caller rolls back on exit code 2)."""
        import functools

        from lms.spreadsheets.sheet import SheetError

        try:
            for number, cells in sheet.rows():
                self.rows += 1
                yield number, functools.partial(sheet.cell, cells)
        except SheetError as exc:
            self.file_unusable(exc.code, exc.params)

    def issue_dicts(self, issues: list[Issue]) -> list[dict]:
        return [self.messages.issue_dict(i) for i in sorted(issues, key=issue_order)]

    def as_dict(self) -> dict:
        return {"rows": self.rows, **{name: getattr(self, name) for name in self.COUNTS},
                "unchanged": self.unchanged, "rejected": self.rejected,
                "warnings": self.issue_dicts(self.warnings), "errors": self.issue_dicts(self.errors),
                "error_count": self.error_count, "warning_count": self.warning_count,
                "unknown_columns": self.unknown_columns, "format": self.format, "encoding": self.encoding,
                "header_row": self.header_row, "dry_run": self.dry_run, **self.options(),
                "exit_code": self.exit_code}

    def options(self) -> dict:
        """The import's own options, shown before the exit code."""
        return {}


def echo_report(data: dict, report_path: str | None, summary: str) -> None:
    """What an import command shows: the JSON report written to ``report_path`` (when given), the
    first errors on stderr (row, column, code, message), then ``summary`` (its counts)."""
    import click

    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
    for issue in data["errors"][:PRINTED_ERRORS]:
        click.echo(f"row {issue['row']} [{issue['column']}] {issue['code']}: {issue['message']}", err=True)
    if data["error_count"] > PRINTED_ERRORS:
        click.echo(f"… {data['error_count'] - PRINTED_ERRORS} more errors (see --report)", err=True)
    click.echo(summary)


def counts_line(data: dict, names: tuple[str, ...]) -> str:
    """``rows=… created=…``: the counts the command prints last."""
    return " ".join(f"{name}={data[name]}" for name in names)


def grouped(issues: list[dict], shown_rows: int = 12) -> list[dict]:
    """Issues of a report (as dicts) with the same message and column as one line: how many rows,
    and the first row numbers. 60 rows with the same historical area code read as one warning."""
    groups: dict[tuple, dict] = {}
    for issue in issues:
        key = (issue["message"], issue["column"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"message": issue["message"], "column": issue["column"], "count": 0, "rows": []}
        group["count"] += 1
        if issue["row"] and len(group["rows"]) < shown_rows:
            group["rows"].append(issue["row"])
    return sorted(groups.values(), key=lambda g: -g["count"])
