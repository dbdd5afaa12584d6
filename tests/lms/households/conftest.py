"""Fixtures for the registry tests: member exports written from ``records`` rows."""
from __future__ import annotations

import csv

import pytest

from tests.lms.households.records import HEADER


@pytest.fixture
def export(tmp_path):
    """Write rows (dicts) as a member export; returns the path."""
    counter = iter(range(1000))

    def write(rows, *, encoding="utf-8", header=None, before=(), name=None):
        header = header or list(dict.fromkeys(k for r in rows for k in r)) or HEADER
        path = tmp_path / (name or f"export{next(counter)}.csv")
        with open(path, "w", encoding=encoding, newline="") as fh:
            out = csv.writer(fh)
            for line in before:
                out.writerow(line)
            out.writerow(header)
            for r in rows:
                out.writerow([r.get(h, "") for h in header])
        return path

    return write
