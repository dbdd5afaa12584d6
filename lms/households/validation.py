"""Row and household rules for a member export (DOMAIN.md §1, §2).

Pure Python over the cells of a sheet: no database.  ``RowValidator.validate``
turns a chunk of rows, column by column, into the values stored for its
households and members, or into errors: the coded columns here, the rules that
read or compare whole columns in ``column_rules.py``, then the rules on a
household's rows as a whole.  Every problem is an ``Issue`` carrying the row
number the official sees.
"""
from __future__ import annotations

import collections
import itertools
import re
from collections.abc import Iterable
from typing import NamedTuple

from lms.spreadsheets.report import Issue
from lms.spreadsheets.text import normalize

from . import categories as cat
from . import column_rules as rules
from .column_rules import cell_text
from .spreadsheet import HEADERS

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


class RowValidator:
    """Validates a sheet's rows a chunk at a time.

    Work is done column by column: a column's distinct values are converted once
    and looked up for every row, which keeps a million-row import fast."""

    def __init__(self, mapping: dict[str, int], headers: list[str], regions: RegionIndex,
                 *, default_year: int, create_regions: bool = False, scope: str = "",
                 quick: bool = True):
        # Whole-column quick tests first (``column_rules``); False checks every row one by
        # one, for the tests that compare the two.
        self.quick = quick
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
        errors: list[Issue] = []
        warnings: list[Issue] = []
        none = [None] * len(numbers)

        def fail(rows, field, code, **params):
            header = self.column(field)
            errors.extend(Issue(numbers[k], header, code, params) for k in rows)

        v = self._converted(cols, numbers, errors)
        for f, i, limit in self._free:
            v[f] = rules.free_texts(cols[i], limit, self.quick)
        get = lambda f: v.get(f) or none  # noqa: E731

        hnos = rules.cell_texts(cols[self.mapping["household_no"]], self.quick)
        names = rules.cell_texts(cols[self.mapping["name"]], self.quick)
        self._required(hnos, names, v, cols, fail)
        ids = rules.read_id_column(cols[self.mapping["id_number"]], get("doc_type"),
                                   self._area_cache, self.counties, self.quick)
        id_header = self.column("id_number")
        errors.extend(Issue(numbers[k], id_header, code, params) for k, code, params in ids.errors)
        warnings.extend(Issue(numbers[k], id_header, code, params)
                        for k, code, params in ids.warnings)
        self._compared(v, cols, ids, numbers, errors, fail)

        villages, new_regions = self._villages(cols, numbers, errors)
        years = [y or self.default_year for y in get("year")]
        household_cols = (villages, years, get("household_type"), get("poverty_status"),
                          get("exit_year"), get("main_cause"), get("other_causes"),
                          get("standard"), get("household_phone"))
        # Columns, not rows: the import zips them once with the sealed numbers.
        members = (get("person_no"), names, ids.sexes, ids.births, ids.kinds, v["relation"],
                   get("education"), get("student_status"), v["labour_skill"],
                   get("work_place"), get("work_months"), get("health"),
                   get("ethnicity"), get("phone"), get("politics"), get("employer"),
                   get("dibao"), get("tekun"), get("mandarin"), get("dropout_reason"),
                   get("disability"))
        households = self._households(hnos, v["relation"], ids.sexes, list(zip(*household_cols)),
                                      new_regions, numbers, errors, fail)
        return Chunk(numbers, members, ids.person, ids.docno, households, errors, warnings)

    def _converted(self, cols, numbers, errors) -> dict[str, list]:
        """The coded columns (categories, flags, months, years) converted; a wrong
        value is an error and None.  A column's distinct values are converted once."""
        v: dict[str, list] = {}
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
        return v

    def _required(self, hnos, names, v, cols, fail) -> None:
        """Household number, name, relation and labour skill given (a name not too long)."""
        n = len(hnos)
        if not all(hnos):
            fail([k for k in range(n) if not hnos[k]], "household_no", "required")
        if not all(names) or max(map(len, names)) > 50:
            for k in range(n):
                if not names[k]:
                    fail([k], "name", "required")
                elif len(names[k]) > 50:
                    fail([k], "name", "too_long", limit=50)
        for f in ("relation", "labour_skill"):
            if None in v[f]:
                raw = cols[self.mapping[f]]
                fail([k for k, value in enumerate(v[f]) if value is None and not raw[k].strip()],
                     f, "required")

    def _compared(self, v, cols, ids, numbers, errors, fail) -> None:
        """The rules between columns: sex and birth date as the ID says, no education for
        a student, a work place exactly with months of work."""
        if "sex" in v:
            for k in rules.sex_mismatches(v["sex"], ids.person, ids.sexes):
                fail([k], "sex", "sex_mismatch", sex=cat.Sex(v["sex"][k]).label)
        if "birth_date" in self.mapping:
            fail(rules.birth_mismatches(cols[self.mapping["birth_date"]], ids.person, ids.births,
                                        self.quick), "birth_date", "birth_mismatch")
        if "education" in v and "student_status" in v:
            fail(rules.educated_students(v["education"], v["student_status"], self.quick),
                 "education", "education_and_student")
        if "work_place" in v or "work_months" in v:
            none = [None] * len(numbers)
            mismatched = rules.work_mismatches(v.get("work_place") or none,
                                               v.get("work_months") or none, self.quick)
            if mismatched:  # a month count already wrong is reported as that only
                bad_months = {e.row for e in errors if e.code == "work_months_range"}
                fail([k for k in mismatched if numbers[k] not in bad_months],
                     "work_place", "work_together")

    def _households(self, hnos, relations, sexes, household_rows, new_regions, numbers, errors,
                    fail) -> list[Household]:
        """The chunk's households as runs of rows with the same number, and the rules on a
        household as a whole (one 户主, at most one spouse, of the other sex); a household
        with any faulty row is rejected whole."""
        bad_rows = {e.row for e in errors}
        households: list[Household] = []
        runs = [(hno, sum(1 for _ in run)) for hno, run in itertools.groupby(hnos)]
        split = set()
        if len(runs) != len(set(hno for hno, _ in runs)):
            split = {hno for hno, c in collections.Counter(h for h, _ in runs).items() if c > 1}
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
                fail([start], "household_no", "household_split", household=hno)
            elif hno:
                if not heads:
                    fail([start], "relation", "no_head", household=hno)
                fail(heads[1:], "relation", "many_heads", household=hno)
                fail(spouses[1:], "relation", "many_spouses", household=hno)
                if (len(heads) == 1 and spouses and sexes[heads[0]] is not None
                        and sexes[spouses[0]] == sexes[heads[0]]):
                    fail([spouses[0]], "relation", "spouse_same_sex")
            rejected = (not hno or len(errors) > before
                        or (bool(bad_rows) and not bad_rows.isdisjoint(numbers[start:end])))
            lead = heads[0] if heads else start
            households.append(Household(hno, start, end, household_rows[lead],
                                        new_regions[lead], rejected))
            start = end
        return households

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


def _year(text: str) -> int | None:
    text = normalize(text).removesuffix("年")
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) == 4 and text.isdigit() and 1980 <= int(text) <= 2100:
        return int(text)
    return None
