"""The report of a household import: the shared import report (lms.spreadsheets.report) with
the households' and members' counts, the household messages, ``--strict``, and what the caller
should do with the changes.

Its own module because the CLI, the web job and the preview page all read it,
while only the import run fills it in.
"""
from __future__ import annotations

from dataclasses import dataclass

from lms.spreadsheets.report import ImportReport as SpreadsheetImportReport

from ..messages import HOUSEHOLD_MESSAGES


@dataclass
class ImportReport(SpreadsheetImportReport):
    COUNTS = ("households_created", "households_updated", "members_created", "members_updated")
    messages = HOUSEHOLD_MESSAGES

    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    strict: bool = False

    @property
    def changes_kept(self) -> bool:
        """Whether the caller should commit what the import wrote."""
        return not (self.unusable or self.dry_run or (self.strict and self.rejected))

    def options(self) -> dict:
        return {"strict": self.strict}
