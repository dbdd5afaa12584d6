"""Row and household rules for a member export (DOMAIN.md §1, §2).

Pure Python over the cells of a sheet: no database.  ``RowValidator.parse``
turns one row into the values stored for its household and member, or into
errors; ``check_household`` applies the rules that span a household's rows.
Every problem is an ``Issue`` carrying the row number the official sees.
"""
from __future__ import annotations

import collections
import itertools
import operator
import re
from collections.abc import Iterable
from typing import NamedTuple

from . import categories as cat
from stdnum.cn import ric

from .categories import DocType
from .idnumbers import IdError, _birth_dates, area_warning, parse_id
from .spreadsheet import HEADERS
from .text import normalize

# Stored values, in the order the database columns are written.
HOUSEHOLD_FIELDS = ("village_code", "year", "household_type", "poverty_status", "exit_year",
                    "main_cause", "other_causes", "standard", "phone")
MEMBER_FIELDS = ("person_no", "name", "sex", "birth_ymd", "doc_type", "relation", "education",
                 "student_status", "labour_skill", "work_place", "work_months", "health",
                 "ethnicity", "phone", "politics", "employer", "dibao", "tekun", "mandarin",
                 "dropout_reason", "disability")

_CATEGORY_FIELDS: dict[str, type[cat.Category]] = {
    "relation": cat.Relation, "education": cat.Education, "student_status": cat.StudentStatus,
    "labour_skill": cat.LabourSkill, "work_place": cat.WorkPlace,
    "household_type": cat.HouseholdType, "main_cause": cat.Cause,
    "poverty_status": cat.PovertyStatus, "standard": cat.Standard, "sex": cat.Sex,
    "doc_type": cat.DocType,
}
_TEXT_FIELDS = {"person_no": 40, "phone": 20, "employer": 100, "household_phone": 20}
_FLAG_FIELDS = ("dibao", "tekun", "mandarin")
_SPLIT = re.compile(r"[,，、;；/\s]+")
_DIGITS = re.compile(r"\d+")
_APOSTROPHES = "'‘’`"


class Issue(NamedTuple):
    row: int
    column: str
    code: str
    params: dict


class RegionIndex:
    """The regions table in memory, for resolving a row's village."""

    def __init__(self, regions: Iterable[tuple[str, str, int, str | None]]):
        self.names: dict[str, str] = {}
        self.levels: dict[str, int] = {}
        self.children: dict[str | None, dict[str, list[str]]] = {}
        self.by_level_name: dict[tuple[int, str], list[str]] = {}
        for code, name, level, parent in regions:
            self.add(code, name, level, parent)

    def add(self, code: str, name: str, level: int, parent: str | None) -> None:
        self.names[code] = name
        self.levels[code] = level
        key = normalize(name)
        self.children.setdefault(parent, {}).setdefault(key, []).append(code)
        self.by_level_name.setdefault((level, key), []).append(code)

    def county_codes(self) -> frozenset[str]:
        """6-digit codes of the counties."""
        return frozenset(c[:6] for c, lv in self.levels.items() if lv == 3)

    def child(self, parent: str, name: str) -> str | None:
        found = self.children.get(parent, {}).get(normalize(name), [])
        return found[0] if len(found) == 1 else None

    def village_by_names(self, province: str, city: str, county: str, township: str,
                         village: str) -> str | None:
        """The village code for names, or None when not found or ambiguous."""
        counties = self.by_level_name.get((3, normalize(county)), [])
        if len(counties) > 1 and (city or province):
            counties = [c for c in counties
                        if (not city or self._named(c[:4] + "00000000", city))
                        and (not province or self._named(c[:2] + "0000000000", province))]
        if len(counties) != 1:
            return None
        town = self.child(counties[0], township)
        return self.child(town, village) if town else None

    def _named(self, code: str, name: str) -> bool:
        return normalize(self.names.get(code, "")) == normalize(name)


class _Bad(NamedTuple):
    """A cell value that is wrong: the error code and its message parameters."""

    code: str
    params: dict


# Converted values are memoised per column; past this many distinct values a
# column is treated as free text and no longer cached (memory stays bounded).
_CACHE_LIMIT = 50_000


def _category(enum):
    table = {k: m.value for k, m in enum.lookup().items()}

    def convert(text: str):
        if not text:
            return None
        code = table.get(text)
        if code is None:
            code = table.get(normalize(text))
            if code is None:
                if enum is cat.StudentStatus and normalize(text) == cat.NOT_A_STUDENT:
                    return None
                return _Bad("invalid_value", {"value": text[:40]})
        return code
    return convert


def _multi(enum, most: int | None = None):
    def convert(text: str):
        if not text:
            return None
        codes = []
        for part in _SPLIT.split(normalize(text)):
            if part:
                hit = enum.parse(part)
                if hit is None:
                    return _Bad("invalid_value", {"value": part[:40]})
                if hit.value not in codes:
                    codes.append(hit.value)
        if most is not None and len(codes) > most:
            return _Bad("too_many_causes", {})
        return ",".join(sorted(codes)) or None
    return convert


def _flag(text: str):
    if not text:
        return None
    flag = cat.YES_NO.get(normalize(text))
    return _Bad("invalid_value", {"value": text[:40]}) if flag is None else flag


def _months(text: str):
    if not text:
        return None
    try:
        value = float(normalize(text))
    except ValueError:
        value = -1.0
    if not (0 <= value <= 12 and value.is_integer()):
        return _Bad("work_months_range", {"value": text[:20]})
    return int(value)


def _year_field(text: str):
    if not text:
        return None
    year = _year(text)
    return _Bad("invalid_year", {"value": text[:20]}) if year is None else year


_CONVERTERS = {
    **{f: _category(c) for f, c in _CATEGORY_FIELDS.items()},
    "health": _multi(cat.Health),
    "other_causes": _multi(cat.Cause, most=2),
    **{f: _flag for f in _FLAG_FIELDS},
    "work_months": _months,
    "year": _year_field,
    "exit_year": _year_field,
    "ethnicity": lambda t: t[:20] or None,
    "politics": lambda t: t[:20] or None,
    "disability": lambda t: t[:50] or None,
    "dropout_reason": lambda t: t[:50] or None,
}


class Household(NamedTuple):
    """One household's run of rows in a chunk."""

    household_no: str
    start: int  # index of its first row in the chunk
    end: int  # index after its last row
    values: tuple  # HOUSEHOLD_FIELDS, from the 户主's row
    new_region: tuple | None  # (village code, township name, village name) to create
    rejected: bool


class Chunk(NamedTuple):
    """A validated chunk: per-row columns plus households as runs of rows."""

    numbers: list[int]  # row numbers as the official sees them
    members: tuple[list, ...]  # a list per MEMBER_FIELDS, a value per row (accepted rows)
    person_ids: list[str | None]  # 18-character resident ID per row
    doc_numbers: list[str | None]  # document number as stored, per row
    households: list[Household]
    errors: list[Issue]
    warnings: list[Issue]


_SEX_OF = {d: ("1" if int(d) % 2 else "2") for d in "0123456789"}


class RowValidator:
    """Validates a sheet's rows a chunk at a time.

    Work is done column by column: a column's distinct values are converted once
    and looked up for every row, which keeps a million-row import fast."""

    def __init__(self, mapping: dict[str, int], headers: list[str], regions: RegionIndex,
                 *, default_year: int, create_regions: bool = False, scope: str = ""):
        self.scope = scope  # region-code prefix every row's village must have ("" = all)
        self.mapping = mapping
        self.headers = headers
        self.regions = regions
        self.default_year = default_year
        self.create_regions = create_regions
        self.counties = regions.county_codes()
        self._region_cache: dict = {}
        self._known_village: dict = {}  # region-cache key → code of a village in the table
        self._area_cache: dict[str, tuple | None] = {}
        self._cached = [(f, mapping[f], {}, set(), conv) for f, conv in _CONVERTERS.items()
                        if f in mapping]
        self._free = [(f, mapping[f], n) for f, n in _TEXT_FIELDS.items() if f in mapping]
        self._code_col = mapping.get("village_code")
        self._name_cols = [mapping.get(f) for f in ("province", "city", "county", "township",
                                                    "village")]

    def column(self, field: str) -> str:
        """The header text of a field's column as the official sees it."""
        i = self.mapping.get(field)
        return self.headers[i] if i is not None and i < len(self.headers) else HEADERS[field][0]

    def validate(self, numbers: list[int], cols: list[list[str]]) -> Chunk:
        """Validate a chunk of rows, given as columns (a list of cells per column, at
        least up to the last mapped one); a household's rows must all be in it."""
        n = len(numbers)
        errors: list[Issue] = []
        warnings: list[Issue] = []
        v: dict[str, list] = {}
        none = [None] * n

        def fail(k, field, code, **params):
            errors.append(Issue(numbers[k], self.column(field), code, params))

        for f, i, cache, bad_keys, conv in self._cached:
            col = cols[i]
            try:  # after the first chunks, every value of a category column is known
                values = list(map(cache.__getitem__, col))
                bad = bool(bad_keys) and not bad_keys.isdisjoint(col)
            except KeyError:
                distinct = set(col)
                todo = distinct.difference(cache)
                if len(cache) + len(todo) <= _CACHE_LIMIT:
                    for raw in todo:
                        value = cache[raw] = conv(cell_text(raw))
                        if value.__class__ is _Bad:
                            bad_keys.add(raw)
                    values = list(map(cache.__getitem__, col))
                    bad = not bad_keys.isdisjoint(distinct)
                else:
                    values = [cache[r] if r in cache else conv(cell_text(r)) for r in col]
                    bad = True
            if bad:
                for k, value in enumerate(values):
                    if value.__class__ is _Bad:
                        errors.append(Issue(numbers[k], self.headers[i], value.code, value.params))
                        values[k] = None
            v[f] = values
        for f, i, limit in self._free:
            texts = list(map(str.strip, cols[i]))
            if (QUICK_TESTS and max(map(len, texts), default=0) <= limit
                    and not _any_apostrophe(texts)):
                v[f] = list(map(_NONE_IF_EMPTY.get, texts, texts))  # "" → None
            else:
                v[f] = [(t[1:].strip() if t[:1] in _APOSTROPHES else t)[:limit] or None
                        for t in texts]
        get = lambda f: v.get(f) or none  # noqa: E731

        hnos = _texts(cols[self.mapping["household_no"]])
        names = _texts(cols[self.mapping["name"]])
        if not all(hnos):
            for k in range(n):
                if not hnos[k]:
                    fail(k, "household_no", "required")
        if not all(names) or max(map(len, names)) > 50:
            for k in range(n):
                if not names[k]:
                    fail(k, "name", "required")
                elif len(names[k]) > 50:
                    fail(k, "name", "too_long", limit=50)
        for f in ("relation", "labour_skill"):
            if None in v[f]:
                raw = cols[self.mapping[f]]
                for k, value in enumerate(v[f]):
                    if value is None and not raw[k].strip():
                        fail(k, f, "required")

        person, docno, births, sexes, kinds = self._identities(
            cols[self.mapping["id_number"]], get("doc_type"), numbers, errors, warnings)

        if "sex" in v and v["sex"] != sexes:
            for k, value in enumerate(v["sex"]):
                if value is not None and person[k] is not None and value != sexes[k]:
                    fail(k, "sex", "sex_mismatch", sex=cat.Sex(value).label)
        if "birth_date" in self.mapping:
            # The common spelling (1986-09-01 or 19860901) compares as text with the ID's digits.
            given = [t.strip().replace("-", "") for t in cols[self.mapping["birth_date"]]]
            # Quick test first: every date spelled as the ID's eight digits.
            if not QUICK_TESTS or set(map(len, given)) != {8} or "".join(given) != "".join(
                    [pid[6:14] if pid is not None else "" for pid in person]):
                for k, (text, pid) in enumerate(zip(given, person)):
                    if text and pid is not None and text != pid[6:14] and _ymd(text) != births[k]:
                        fail(k, "birth_date", "birth_mismatch")
        if "education" in v and "student_status" in v:
            education, student = v["education"], v["student_status"]
            # Quick test first: an education given for any of the students?
            if not QUICK_TESTS or any(e is not None
                                      for e in itertools.compress(education, student)):
                for k, (e, s) in enumerate(zip(education, student)):
                    if e is not None and s is not None:
                        fail(k, "education", "education_and_student")
        if "work_place" in v or "work_months" in v:
            places, months = get("work_place"), get("work_months")
            # Quick test first: a place exactly where there are months.
            if (not QUICK_TESTS
                    or list(map(operator.is_not, places, _NONES)) != list(map(bool, months))):
                bad_months = {e.row for e in errors if e.code == "work_months_range"}
                for k, (p, m) in enumerate(zip(places, months)):
                    if (p is not None) != bool(m) and numbers[k] not in bad_months:
                        fail(k, "work_place", "work_together")

        villages, new_regions = self._villages(cols, numbers, errors)
        years = [y or self.default_year for y in get("year")]
        household_cols = (villages, years, get("household_type"), get("poverty_status"),
                          get("exit_year"), get("main_cause"), get("other_causes"),
                          get("standard"), get("household_phone"))
        # Columns, not rows: the import zips them once with the sealed numbers.
        members = (get("person_no"), names, sexes, births, kinds, v["relation"],
                   get("education"), get("student_status"), v["labour_skill"],
                   get("work_place"), get("work_months"), get("health"),
                   get("ethnicity"), get("phone"), get("politics"), get("employer"),
                   get("dibao"), get("tekun"), get("mandarin"), get("dropout_reason"),
                   get("disability"))

        bad_rows = {e.row for e in errors}
        relations = v["relation"]
        households: list[Household] = []
        runs = [(hno, sum(1 for _ in run)) for hno, run in itertools.groupby(hnos)]
        split = set()
        if len(runs) != len(set(hno for hno, _ in runs)):
            split = {hno for hno, c in collections.Counter(h for h, _ in runs).items() if c > 1}
        household_rows = list(zip(*household_cols))
        is_head = [r == "01" for r in relations]
        is_spouse = [r == "02" for r in relations]
        start = 0
        for hno, length in runs:
            end = start + length
            if is_head[start:end].count(True) == 1 and is_spouse[start:end].count(True) <= 1:
                heads = [is_head.index(True, start, end)]
                spouses = [is_spouse.index(True, start, end)] if True in is_spouse[start:end] else []
            else:
                heads = [k for k in range(start, end) if is_head[k]]
                spouses = [k for k in range(start, end) if is_spouse[k]]
            before = len(errors)
            if hno in split:
                fail(start, "household_no", "household_split", household=hno)
            elif hno:
                if not heads:
                    fail(start, "relation", "no_head", household=hno)
                for k in heads[1:]:
                    fail(k, "relation", "many_heads", household=hno)
                for k in spouses[1:]:
                    fail(k, "relation", "many_spouses", household=hno)
                if (len(heads) == 1 and spouses and sexes[heads[0]] is not None
                        and sexes[spouses[0]] == sexes[heads[0]]):
                    fail(spouses[0], "relation", "spouse_same_sex")
            rejected = (not hno or len(errors) > before
                        or (bool(bad_rows) and not bad_rows.isdisjoint(numbers[start:end])))
            lead = heads[0] if heads else start
            households.append(Household(hno, start, end, household_rows[lead],
                                        new_regions[lead], rejected))
            start = end
        return Chunk(numbers, members, person, docno, households, errors, warnings)

    def _identities(self, col, doc_types, numbers, errors, warnings):
        """(person ids, document numbers, birth dates, sexes, document types) for
        the ID column; None where the number is wrong (with an error)."""
        n = len(col)
        dates = _birth_dates()
        # Rows of another document type (a disability certificate) are read one by one.
        other = [k for k, d in enumerate(doc_types) if d is not None and d != "1"]
        quick = self._clean_identities(col, other, dates) if QUICK_TESTS else None
        if quick is not None:
            person, docno, births, sexes, kinds = quick
            todo = other
        else:
            # Column at a time: clean 18-character numbers.
            clean = [r if len(r) == 18 and r.isascii() and r[:17].isdigit() else None
                     for r in col]
            clean = [r.upper() if r is not None and r[17] == "x" else r for r in clean]
            checks = [ric.calc_check_digit(r) if r is not None else "" for r in clean]
            births = list(map(dates.get, [r[6:14] if r is not None else "" for r in clean]))
            person = [r if r is not None and c == r[17] and b is not None else None
                      for r, c, b in zip(clean, checks, births)]
            for k in other:
                person[k] = None
            docno = list(person)
            kinds = ["1" if p is not None else None for p in person]
            sexes = [_SEX_OF[p[16]] if p is not None else None for p in person]
            births = [b if p is not None else 0 for b, p in zip(births, person)]
            todo = [k for k in range(n) if person[k] is None]
        id_header = self.column("id_number")
        for k in todo:
            raw = col[k]
            try:
                ident = parse_id(cell_text(raw), DocType(doc_types[k]) if doc_types[k] else None)
            except IdError as exc:
                errors.append(Issue(numbers[k], id_header, exc.code, exc.params))
                continue
            if ident.upgraded:
                warnings.append(Issue(numbers[k], id_header, "id_upgraded", {}))
            person[k], docno[k], births[k] = ident.person_id, ident.number, ident.birth_ymd
            sexes[k], kinds[k] = ident.sex.value, ident.doc_type.value
        # The quick test has checked the areas of the other rows: all current.
        checked = range(n) if quick is None else todo
        areas = [(k, person[k][:6]) for k in checked if person[k] is not None]
        cache = self._area_cache
        flagged = set()
        for area in {area for _k, area in areas}:
            if area not in cache:
                cache[area] = area_warning(area + "0" * 12, self.counties)
            if cache[area] is not None:
                flagged.add(area)
        if flagged:
            for k, area in areas:
                if area in flagged:
                    code, params = cache[area]
                    warnings.append(Issue(numbers[k], id_header, code, params))
        return person, docno, births, sexes, kinds

    def _clean_identities(self, col, other: list[int], dates):
        """``_identities`` for the usual column, but the rows ``other`` (None there,
        to be read one by one): every other cell a well-formed resident ID (digits,
        and an upper-case X only as the check character) with the right check
        character and birth date, and a current area code.  Whole-column string
        tests; None when any of that is not so."""
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
        cache = self._area_cache
        for area in {r[:6] for r in col}:
            if area not in cache:
                cache[area] = area_warning(area + "0" * 12, self.counties)
            if cache[area] is not None:
                return None
        person = list(col)
        sexes = list(map(_SEX_OF.__getitem__, joined[16::18]))
        kinds = ["1"] * n
        for k in other:
            person[k] = sexes[k] = kinds[k] = None
            births[k] = 0
        return person, list(person), births, sexes, kinds

    def _villages(self, cols, numbers, errors):
        n = len(numbers)
        cache = self._region_cache
        codes = cols[self._code_col] if self._code_col is not None else None
        name_cols = [cols[i] if i is not None else [""] * n for i in self._name_cols]
        if codes is not None and all(codes):
            keys = codes
        else:
            keys = [c if c and c.strip() else names for c, names in
                    zip(codes or [""] * n, zip(*name_cols))]
        try:  # the usual case: every village seen before, and in the regions table
            return list(map(self._known_village.__getitem__, keys)), [None] * n
        except KeyError:
            pass
        hits = list(map(cache.get, keys))
        if None in hits:
            for k, key in enumerate(keys):
                if hits[k] is None:
                    hit = cache.get(key)
                    if hit is None:
                        names = tuple(cell_text(c[k]) for c in name_cols)
                        hit = self._resolve(cell_text(codes[k]) if codes is not None else "", names)
                        if not isinstance(hit, Issue):
                            hit = (hit, names[3], names[4])
                        cache[key] = hit
                    hits[k] = hit
        villages, new = [None] * n, [None] * n
        levels = self.regions.levels
        for k, hit in enumerate(hits):
            if hit.__class__ is Issue:
                errors.append(hit._replace(row=numbers[k]))
                continue
            villages[k] = hit[0]
            if hit[0] not in levels:
                new[k] = hit
            else:
                self._known_village[keys[k]] = hit[0]
        return villages, new

    def _resolve(self, code: str, names: tuple) -> str | Issue:
        found = self._resolve_code(code, names)
        if not isinstance(found, Issue) and not found.startswith(self.scope):
            column = self.column("village_code" if code else "village")
            return Issue(0, column, "out_of_scope", {"value": found})
        return found

    def _resolve_code(self, code: str, names: tuple) -> str | Issue:
        if code:
            code = normalize(code)
            if not (len(code) == 12 and code.isdigit()):
                return Issue(0, self.column("village_code"), "village_code_format",
                             {"value": code[:20]})
            if self.regions.levels.get(code) == 5:
                return code
            if self.create_regions and code[:6] in self.counties and names[4]:
                if code[:9] in self.regions.levels or names[3]:
                    return code
            return Issue(0, self.column("village_code"), "unknown_region", {"value": code})
        if not all(names[2:]):
            return Issue(0, self.column("village"), "required", {})
        found = self.regions.village_by_names(*names)
        if found is None:
            return Issue(0, self.column("village"), "unknown_region", {"value": "/".join(names[2:])})
        return found



# Whole-column tests that skip the row-by-row checks when a column is clean (the
# usual case); off, every row is checked one by one (the tests compare the two).
QUICK_TESTS = True
_NONE_IF_EMPTY = {"": None}
_NONES = itertools.repeat(None)


def _any_apostrophe(texts: list[str]) -> bool:
    """Whether any of the texts holds an apostrophe anywhere (a quick, rarely true
    test before looking for one at the start of a cell)."""
    joined = "".join(texts)
    return any(a in joined for a in _APOSTROPHES)


def _texts(col) -> list[str]:
    """A column's cells as text, stripped, without an Excel apostrophe."""
    try:
        texts = list(map(str.strip, col))
    except TypeError:  # not all text
        texts = [t.strip() if t.__class__ is str else cell_text(t) for t in col]
    if ((not QUICK_TESTS or _any_apostrophe(texts))
            and any(t[:1] in _APOSTROPHES and t for t in texts)):
        texts = list(map(_text, texts))
    return texts


def cell_text(value) -> str:
    if value.__class__ is not str:
        value = "" if value is None else str(value)
    value = value.strip()
    if value[:1] in _APOSTROPHES and value:
        value = value[1:].strip()
    return value


def _ymd(value) -> int | None:
    parts = _DIGITS.findall(normalize(cell_text(value)))
    try:
        if len(parts) == 1 and len(parts[0]) == 8:
            return int(parts[0])
        if len(parts) >= 3:
            return int(parts[0]) * 10000 + int(parts[1]) * 100 + int(parts[2])
    except ValueError:
        pass
    return None


def _year(text: str) -> int | None:
    text = normalize(text).removesuffix("年")
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) == 4 and text.isdigit() and 1980 <= int(text) <= 2100:
        return int(text)
    return None
