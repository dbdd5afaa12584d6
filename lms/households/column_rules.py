"""The row rules of a member export that read whole columns of a chunk (DOMAIN.md §2):
cell text, free-text fields, the ID-number column, and the rules comparing columns
(sex and birth date against the ID, no education for a student, work place with
months).

Each rule is one function taking ``quick``: True first tries a whole-column test
that holds for a clean column (the usual case, and what keeps a million-row import
fast) and only falls back to looking at the rows one by one when it fails; False
always goes row by row.  Both must give the same answer: the tests compare them.
Rows are indexes into the chunk; the validator (``validation.py``) turns them into
issues on the row numbers the official sees.
"""
from __future__ import annotations

import itertools
import operator
import re

from stdnum.cn import ric

from .categories import DocType
from .idnumbers import IdError, _birth_dates, area_warning, parse_id
from lms.spreadsheets.text import normalize

APOSTROPHES = "'‘’`"
_DIGITS = re.compile(r"\d+")
_NONE_IF_EMPTY = {"": None}
_NONES = itertools.repeat(None)
_SEX_OF = {d: ("1" if int(d) % 2 else "2") for d in "0123456789"}


def cell_text(value) -> str:
    """A cell as text, stripped, without the apostrophe Excel puts before a number kept as text."""
    if value.__class__ is not str:
        value = "" if value is None else str(value)
    value = value.strip()
    if value[:1] in APOSTROPHES and value:
        value = value[1:].strip()
    return value


def _any_apostrophe(texts: list[str]) -> bool:
    """Whether any of the texts holds an apostrophe anywhere (a quick, rarely true
    test before looking for one at the start of a cell)."""
    joined = "".join(texts)
    return any(a in joined for a in APOSTROPHES)


def cell_texts(col, quick: bool = True) -> list[str]:
    """A column's cells as ``cell_text``."""
    try:
        texts = list(map(str.strip, col))
    except TypeError:  # not all text
        texts = [t.strip() if t.__class__ is str else cell_text(t) for t in col]
    if ((not quick or _any_apostrophe(texts))
            and any(t[:1] in APOSTROPHES and t for t in texts)):
        texts = list(map(cell_text, texts))
    return texts


def free_texts(col, limit: int, quick: bool = True) -> list[str | None]:
    """A free-text column as stored: ``cell_text`` cut at ``limit`` characters, None
    for an empty cell.  Quick test: no cell too long, no apostrophe anywhere."""
    texts = list(map(str.strip, col))
    if quick and max(map(len, texts), default=0) <= limit and not _any_apostrophe(texts):
        return list(map(_NONE_IF_EMPTY.get, texts, texts))  # "" → None
    return [(t[1:].strip() if t[:1] in APOSTROPHES else t)[:limit] or None for t in texts]


def sex_mismatches(given: list, person: list, sexes: list) -> list[int]:
    """Rows whose sex differs from the one the ID number says.  (Its quick test, the
    two columns equal, is the one every other rule has, so it takes no ``quick``.)"""
    if given == sexes:
        return []
    return [k for k, value in enumerate(given)
            if value is not None and person[k] is not None and value != sexes[k]]


def birth_mismatches(col, person: list, births: list, quick: bool = True) -> list[int]:
    """Rows whose birth date differs from the ID number's.  Quick test: every date spelled
    as the ID's eight digits (1986-09-01 or 19860901)."""
    given = [t.strip().replace("-", "") for t in col]
    if quick and set(map(len, given)) == {8} and "".join(given) == "".join(
            [pid[6:14] if pid is not None else "" for pid in person]):
        return []
    return [k for k, (text, pid) in enumerate(zip(given, person))
            if text and pid is not None and text != pid[6:14] and ymd(text) != births[k]]


def educated_students(education: list, student: list, quick: bool = True) -> list[int]:
    """Rows giving both an education (for someone no longer in school) and a student
    status.  Quick test: no education given for any of the students."""
    if quick and all(e is None for e in itertools.compress(education, student)):
        return []
    return [k for k, (e, s) in enumerate(zip(education, student))
            if e is not None and s is not None]


def work_mismatches(places: list, months: list, quick: bool = True) -> list[int]:
    """Rows with a work place but no months of work, or months but no place.  Quick
    test: a place exactly where there are months."""
    if quick and list(map(operator.is_not, places, _NONES)) == list(map(bool, months)):
        return []
    return [k for k, (p, m) in enumerate(zip(places, months)) if (p is not None) != bool(m)]


class IdColumn:
    """The ID-number column read: per row the resident ID (18 characters), the
    document number as stored, birth date (YYYYMMDD as an int), sex and document type
    codes, None (0 for the date) where the number is wrong; ``errors`` and
    ``warnings`` are (row index, code, params)."""

    __slots__ = ("person", "docno", "births", "sexes", "kinds", "errors", "warnings")

    def __init__(self, person, docno, births, sexes, kinds):
        self.person, self.docno, self.births, self.sexes, self.kinds = (
            person, docno, births, sexes, kinds)
        self.errors: list[tuple[int, str, dict]] = []
        self.warnings: list[tuple[int, str, dict]] = []


def read_id_column(col, doc_types: list, area_cache: dict, counties: frozenset[str],
                   quick: bool = True) -> IdColumn:
    """Read a chunk's ID-number column (``doc_types``: the document type code per row,
    None for the usual resident ID).  ``area_cache`` remembers the warning (or None)
    for each 6-digit area code across chunks.  Quick test: ``_clean_ids``."""
    n = len(col)
    dates = _birth_dates()
    # Rows of another document type (a disability certificate) are read one by one.
    other = [k for k, d in enumerate(doc_types) if d is not None and d != "1"]
    read = _clean_ids(col, other, dates, area_cache, counties) if quick else None
    clean = read is not None
    if clean:
        todo = other
    else:
        read = _ids_column_at_a_time(col, other, dates)
        todo = [k for k in range(n) if read.person[k] is None]
    for k in todo:
        try:
            ident = parse_id(cell_text(col[k]), DocType(doc_types[k]) if doc_types[k] else None)
        except IdError as exc:
            read.errors.append((k, exc.code, exc.params))
            continue
        if ident.upgraded:
            read.warnings.append((k, "id_upgraded", {}))
        read.person[k], read.docno[k], read.births[k] = (ident.person_id, ident.number,
                                                         ident.birth_ymd)
        read.sexes[k], read.kinds[k] = ident.sex.value, ident.doc_type.value
    # The quick test has checked the areas of the other rows: all current.
    checked = todo if clean else range(n)
    areas = [(k, read.person[k][:6]) for k in checked if read.person[k] is not None]
    flagged = set()
    for area in {area for _k, area in areas}:
        if area not in area_cache:
            area_cache[area] = area_warning(area + "0" * 12, counties)
        if area_cache[area] is not None:
            flagged.add(area)
    if flagged:
        for k, area in areas:
            if area in flagged:
                read.warnings.append((k, *area_cache[area]))
    return read


def _ids_column_at_a_time(col, other: list[int], dates) -> IdColumn:
    """The well-formed 18-character numbers of the column, with the right check character
    and birth date (the rows ``other`` and any other number left None, to be read one
    by one)."""
    clean = [r if len(r) == 18 and r.isascii() and r[:17].isdigit() else None for r in col]
    clean = [r.upper() if r is not None and r[17] == "x" else r for r in clean]
    checks = [ric.calc_check_digit(r) if r is not None else "" for r in clean]
    births = list(map(dates.get, [r[6:14] if r is not None else "" for r in clean]))
    person = [r if r is not None and c == r[17] and b is not None else None
              for r, c, b in zip(clean, checks, births)]
    for k in other:
        person[k] = None
    kinds = ["1" if p is not None else None for p in person]
    sexes = [_SEX_OF[p[16]] if p is not None else None for p in person]
    births = [b if p is not None else 0 for b, p in zip(births, person)]
    return IdColumn(person, list(person), births, sexes, kinds)


def _clean_ids(col, other: list[int], dates, area_cache: dict, counties) -> IdColumn | None:
    """The quick test of ``read_id_column``: every cell but the rows ``other`` (None
    there, to be read one by one) a well-formed resident ID (digits, and an upper-case X
    only as the check character) with the right check character and birth date, and a
    current area code.  Whole-column string tests; None when any of that is not so."""
    n = len(col)
    if other:
        if len(other) == n:
            return None
        skip = set(other)
        stand_in = col[next(k for k in range(n) if k not in skip)]
        col = list(col)
        for k in other:
            col[k] = stand_in
    joined = "".join(col)
    if len(joined) != 18 * n or set(map(len, col)) != {18} or not joined.isascii():
        return None
    checks = joined[17::18]
    if not joined.replace("X", "0").isdigit() or joined.count("X") != checks.count("X"):
        return None
    if "".join(map(ric.calc_check_digit, col)) != checks:
        return None
    births = list(map(dates.get, [r[6:14] for r in col]))
    if None in births:
        return None
    for area in {r[:6] for r in col}:
        if area not in area_cache:
            area_cache[area] = area_warning(area + "0" * 12, counties)
        if area_cache[area] is not None:
            return None
    person = list(col)
    sexes = list(map(_SEX_OF.__getitem__, joined[16::18]))
    kinds = ["1"] * n
    for k in other:
        person[k] = sexes[k] = kinds[k] = None
        births[k] = 0
    return IdColumn(person, list(person), births, sexes, kinds)


def ymd(value) -> int | None:
    """A date cell as YYYYMMDD (19860901), whatever the separators; None if it is not one."""
    parts = _DIGITS.findall(normalize(cell_text(value)))
    try:
        if len(parts) == 1 and len(parts[0]) == 8:
            return int(parts[0])
        if len(parts) >= 3:
            return int(parts[0]) * 10000 + int(parts[1]) * 100 + int(parts[2])
    except ValueError:
        pass
    return None
