"""Resident ID numbers (公民身份号码, GB 11643-1999): clean, check, upgrade, mask,
encrypt and hash.

The check is python-stdnum's (``stdnum.cn.ric``).  Its ``validate`` also rejects
an area code that did not exist at the birth date, which DOMAIN.md §2 says is
normal, and costs ~30 µs; the import checks a million numbers, so we use its
check-digit function with our own cached birth-date table (~1 µs a number).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric

from .categories import DocType, Sex
from .text import normalize

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


class IdCipher:
    """Encryption at rest (AES-256-GCM) and a keyed look-up hash (BLAKE2b) for ID
    numbers, both keyed from the data key (``LMS_DATA_KEY``).

    ``lms.crypto`` does the same for single values as base64 text; the registry
    stores raw bytes and reuses one AES-GCM object, because an import seals a
    million numbers (BLAKE2b ~0.6 µs against HMAC-SHA256's ~1.6 µs here)."""

    def __init__(self, data_key: str | bytes, fallbacks: tuple = ()):
        if isinstance(data_key, str):
            data_key = data_key.encode()
        if not data_key:
            raise ValueError("a data key is required")
        enc = hashlib.blake2b(data_key, digest_size=32, person=b"lms-id-enc").digest()
        self._mac = hashlib.blake2b(data_key, digest_size=32, person=b"lms-id-mac").digest()
        self._aead = AESGCM(enc)
        # Keys being rotated out (LMS_DATA_KEY_OLD): read with them, never write.
        self.old = tuple(IdCipher(key) for key in fallbacks)

    def encrypt(self, number: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, number.encode(), None)

    def encrypt_many(self, numbers: list[str | None]) -> list[bytes | None]:
        """``encrypt`` for each number (None stays None), with the random nonces
        read from the system in one call."""
        nonces = os.urandom(12 * len(numbers))
        seal = self._aead.encrypt
        return [None if number is None else
                nonces[i:i + 12] + seal(nonces[i:i + 12], number.encode(), None)
                for i, number in zip(range(0, len(nonces), 12), numbers)]

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._aead.decrypt(blob[:12], bytes(blob[12:]), None).decode()
        except InvalidTag:
            for old in self.old:
                try:
                    return old.decrypt(blob)
                except InvalidTag:
                    continue
            raise

    def decrypt_current(self, blob: bytes) -> str | None:
        """The number if ``blob`` was sealed under the current key, else None (a rotation's test)."""
        try:
            return self._aead.decrypt(blob[:12], bytes(blob[12:]), None).decode()
        except InvalidTag:
            return None

    def digest(self, person_id: str) -> bytes:
        """16-byte keyed hash of the 18-character resident ID."""
        return hashlib.blake2b(person_id.encode(), key=self._mac, digest_size=16).digest()

    def digest_many(self, person_ids: list[str | None]) -> list[bytes | None]:
        """``digest`` for each ID (None stays None): copies of one keyed hash
        object, which skips setting up the key each time."""
        keyed = hashlib.blake2b(key=self._mac, digest_size=16)
        out = []
        for person_id in person_ids:
            if person_id is None:
                out.append(None)
            else:
                h = keyed.copy()
                h.update(person_id.encode())
                out.append(h.digest())
        return out

    def lookup_digests(self, raw: str) -> list[bytes]:
        """The look-up hashes of what a person typed under the current key and, while a rotation
        is unfinished, the old keys (empty if it is no ID)."""
        digest = self.digest_input(raw)
        if digest is None:
            return []
        return [digest, *(old.digest_input(raw) for old in self.old)]

    def digest_input(self, raw: str) -> bytes | None:
        """The look-up hash for what a person typed, or None if it is no ID."""
        try:
            return self.digest(parse_id(raw).person_id)
        except IdError:
            return None
