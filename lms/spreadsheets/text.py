"""Cleaning of cell text as it comes out of officials' spreadsheets."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Excel's text marker, and the curly quotes some editors turn it into.
_APOSTROPHES = "'‘’`"


def normalize(text: str) -> str:
    """Full-width → half-width (NFKC), no spaces, no leading apostrophe."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub("", text)
    return text.lstrip(_APOSTROPHES)


def clean_cell(value: object) -> str:
    """A cell as text: strip surrounding blanks and a leading apostrophe."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if value[:1] in _APOSTROPHES and value:
        value = value[1:].strip()
    return value
