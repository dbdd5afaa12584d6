"""The report of a household import: counts, the issues found (each on the row
number the official sees), and what the caller should do with the changes.

Its own module because the CLI, the web job and the preview page all read it,
while only the import run fills it in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..messages import issue_dict
from ..validation import Issue

# The report keeps this many errors and warnings; the counts are always exact.
REPORT_LIMIT = 20_000


@dataclass
class ImportReport:
    rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
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
    strict: bool = False

    @property
    def exit_code(self) -> int:
        """0 every row imported, 1 some rows rejected, 2 file unusable."""
        if self.unusable:
            return 2
        return 1 if self.rejected else 0

    @property
    def changes_kept(self) -> bool:
        """Whether the caller should commit what the import wrote."""
        return not (self.unusable or self.dry_run or (self.strict and self.rejected))

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

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "households_created": self.households_created,
            "households_updated": self.households_updated,
            "members_created": self.members_created,
            "members_updated": self.members_updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warnings": [issue_dict(i) for i in sorted(self.warnings, key=issue_order)],
            "errors": [issue_dict(i) for i in sorted(self.errors, key=issue_order)],
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "unknown_columns": self.unknown_columns,
            "format": self.format,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "dry_run": self.dry_run,
            "strict": self.strict,
            "exit_code": self.exit_code,
        }


def issue_order(issue: Issue):
    """Row, then column, then code: the order the official reads issues in."""
    return issue.row, issue.column, issue.code



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
