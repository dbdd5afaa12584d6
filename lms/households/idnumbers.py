"""Resident ID numbers (公民身份号码, GB 11643-1999): clean, check, upgrade, mask,
and their look-up hashes (the cipher itself is ``lms.crypto.IdCipher``).

The check is python-stdnum's (``stdnum.cn.ric``).  Its ``validate`` also rejects
an area code that did not exist at the birth date, which DOMAIN.md §2 says is
normal, and costs ~30 µs; the import checks a million numbers, so we use its
check-digit function with our own cached birth-date table (~1 µs a number).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import NamedTuple

from stdnum.cn import ric

from lms.crypto import IdCipher

from .categories import DocType, Sex
from lms.spreadsheets.text import normalize

_LAST = frozenset("0123456789Xx")
_EXCEL_FLOAT = re.compile(r"^\d+(\.\d*)?(E\+?\d+)?$", re.IGNORECASE)


class IdError(ValueError):
    """A number that cannot be accepted; ``code`` is the report's error code."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


class IdNumber(NamedTuple):
    number: str  # the document number as stored (ID, or disability certificate)
    person_id: str  # the 18-character resident ID (inside a disability certificate)
    doc_type: DocType
    birth_ymd: int  # YYYYMMDD
    sex: Sex
    upgraded: bool  # a legacy 15-digit number upgraded to 18


@functools.cache
def _birth_dates() -> dict[str, int]:
    """'YYYYMMDD' → int for every date from 1900-01-01 to today."""
    day, last, one = dt.date(1900, 1, 1), dt.date.today(), dt.timedelta(days=1)
    dates = {}
    while day <= last:
        key = day.strftime("%Y%m%d")
        dates[key] = int(key)
        day += one
    return dates


def check_character(first17: str) -> str:
    """The 18th character for 17 digits."""
    return ric.calc_check_digit(first17 + "0")


def upgrade15(number: str) -> str:
    """A legacy 15-digit number (YYMMDD, 19YY) as its 18-digit form."""
    body = number[:6] + "19" + number[6:]
    return body + check_character(body)


def _check18(number: str) -> tuple[int, Sex]:
    """Birth date and sex of a well-formed 18-character number, or IdError."""
    if ric.calc_check_digit(number) != number[17]:
        if number.endswith("000"):
            # Excel keeps 15 significant digits and pads with zeros.
            raise IdError("id_excel_float")
        raise IdError("id_checksum")
    ymd = _birth_dates().get(number[6:14])
    if ymd is None:
        raise IdError("id_birth_date", date=number[6:14])
    return ymd, (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE)


def parse_id(raw: str, doc_type: DocType | None = None) -> IdNumber:
    """Clean and check an ID (or disability-certificate) number from a cell.

    Raises IdError with the code of what is wrong."""
    number = raw
    if len(number) == 18 and number.isascii() and number[:17].isdigit() and number[17] in _LAST:
        if number[17] == "x":
            number = number[:17] + "X"
        ymd, sex = _check18(number)
        return IdNumber(number, number, doc_type or DocType.RESIDENT_ID, ymd, sex, False)
    number = normalize(raw).upper()
    if not number:
        raise IdError("id_missing")
    if not number.isascii():
        raise IdError("id_format")
    if number.isdigit() or (number[:-1].isdigit() and number[-1] == "X"):
        if len(number) == 18:
            ymd, sex = _check18(number)
            return IdNumber(number, number, doc_type or DocType.RESIDENT_ID, ymd, sex, False)
        if len(number) == 15 and number.isdigit():
            full = upgrade15(number)
            ymd, sex = _check18(full)
            return IdNumber(full, full, doc_type or DocType.RESIDENT_ID, ymd, sex, True)
    if _EXCEL_FLOAT.match(number) and ("E" in number or "." in number):
        raise IdError("id_excel_float")
    if len(number) in (20, 22) and number.isalnum():
        # 残疾人证: the holder's 18-character ID followed by category and grade
        # (and, on 22-character numbers, the issue mark, e.g. "B1").
        person = number[:18]
        if person[:17].isdigit():
            ymd, sex = _check18(person)
            return IdNumber(number, person, DocType.DISABILITY_CERT, ymd, sex, False)
    if len(number) in (15, 18, 20, 22):
        raise IdError("id_format")
    raise IdError("id_length", length=len(number))


@functools.cache
def _area_periods(area: str) -> tuple[tuple[int | None, int | None, str], ...]:
    """(start year, end year, name) of each county that used an area code,
    from python-stdnum's division table (which holds abolished codes)."""
    from stdnum import numdb

    periods = []
    for _part, props in numdb.get("cn/loc").info(area):
        county = props.get("county")
        if not county:
            continue
        for item in county.split(","):
            start = end = None
            if item.startswith("["):
                span, item = item[1:].split("]", 1)
                lo, hi = span.split("-")
                start, end = (int(lo) if lo else None), (int(hi) if hi else None)
            periods.append((start, end, item))
    return tuple(periods)


def area_warning(person_id: str, known_areas: frozenset[str] | set[str] = frozenset()):
    """None when the area code is current; otherwise (code, params) for a
    warning.  Historical and unknown codes are never errors (DOMAIN.md §2)."""
    area = person_id[:6]
    if area in known_areas:
        return None
    periods = _area_periods(area)
    if not periods:
        return ("id_area_unknown", {"area": area})
    if any(end is None for _s, end, _n in periods):
        return None
    start, end, name = max(periods, key=lambda p: p[1] or 0)
    return ("id_area_historical", {"area": area, "name": name, "year": end})


def digest_input(cipher: IdCipher, raw: str) -> bytes | None:
    """The look-up hash for what a person typed, or None if it is no ID."""
    try:
        return cipher.digest(parse_id(raw).person_id)
    except IdError:
        return None


def lookup_digests(cipher: IdCipher, raw: str) -> list[bytes]:
    """The look-up hashes of what a person typed under the current key and, while a rotation is
    unfinished, the old keys (empty if it is no ID)."""
    try:
        person_id = parse_id(raw).person_id
    except IdError:
        return []
    return [cipher.digest(person_id), *(old.digest(person_id) for old in cipher.old)]
