"""State changes of the registry: the import, member removal, learner linking.

Services flush, never commit; the CLI command, request or job that called them
commits (or, for a dry run or a failed strict import, rolls back).
"""
from __future__ import annotations

import contextlib
import enum
import functools
import gc
import itertools
import marshal
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lms.db import utcnow
from lms.extensions import db

from .idnumbers import IdCipher
from .messages import issue_dict
from .models import Household, HouseholdImport, Member, MemberChange
from .spreadsheet import IrregularLines, SheetError, open_sheet
from .validation import HOUSEHOLD_FIELDS, MEMBER_FIELDS, Issue, RegionIndex, RowValidator
from .validation import split_households
from .validation import _text as _cell_text

# Rows validated and written together: big enough for executemany to pay off,
# small enough that a chunk's cells stay in the processor's caches (1,000 rows
# read and validate a quarter faster than 5,000).
CHUNK_ROWS = 1000
# The report keeps this many errors and warnings; the counts are always exact.
REPORT_LIMIT = 20_000


@functools.lru_cache(maxsize=4)
def _cipher_for(key: str, fallbacks: tuple = ()) -> IdCipher:
    return IdCipher(key, fallbacks)


def cipher() -> IdCipher:
    """The ID cipher keyed from the app's data key (``LMS_DATA_KEY``; reading also with
    ``LMS_DATA_KEY_OLD`` during a rotation)."""
    return _cipher_for(current_app.config["DATA_KEY"], tuple(current_app.config.get("DATA_KEY_FALLBACKS") or ()))


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
            "warnings": [issue_dict(i) for i in sorted(self.warnings, key=_issue_order)],
            "errors": [issue_dict(i) for i in sorted(self.errors, key=_issue_order)],
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


def _issue_order(issue: Issue):
    return issue.row, issue.column, issue.code


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


def _text(value) -> str | None:
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class _Writer:
    """Writes validated chunks with executemany on the session's connection."""

    def __init__(self, report: ImportReport, import_id: int | None, user_id: int | None,
                 regions: RegionIndex, column: Callable[[str], str], created_regions: list,
                 scope: str = ""):
        self.report = report
        # The importer's region prefix: a household or ID number already registered under
        # another prefix is not theirs to change (the file's villages are the validator's).
        self.scope = scope
        self.column = column
        self.import_id = import_id
        self.user_id = user_id
        self.regions = regions
        self.created_regions = created_regions  # Region objects added to the session
        self.cipher = cipher()
        self.conn = db.session.connection()
        dialect = self.conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.now = utcnow()
        stamp = Member.__table__.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        self.stamp = stamp(self.now) if stamp else self.now
        if dialect.name == "sqlite":
            # A bigger page cache keeps the ID-hash index in memory during a bulk load.
            self.conn.exec_driver_sql("PRAGMA cache_size = -262144")
        # The household id goes last: a row from the helper process plus one value.
        mcols = ("id_enc", "id_hash") + MEMBER_FIELDS + ("created_at", "updated_at", "household_id")
        self.member_sql = (f"INSERT INTO members ({', '.join(mcols)}) "
                           f"VALUES ({', '.join([mark] * len(mcols))})")
        self.insert_first = dialect.name == "sqlite"
        if self.insert_first:
            # Straight to the driver: these run a few times a chunk on the hot path.
            raw = self.conn.connection.dbapi_connection
            self.cursor = raw.cursor()
            self.integrity_error = dialect.dbapi.IntegrityError
            self.member_sql_from = self.member_sql.rsplit("?", 1)[0] + "? + {first})"
        self.undo_members = f"DELETE FROM members WHERE household_id > {mark}"
        self.undo_households = f"DELETE FROM households WHERE id > {mark}"
        hcols = ("household_no",) + HOUSEHOLD_FIELDS + ("created_at", "updated_at")
        self.household_table = Household.__table__
        self.mark = mark
        self.household_lookup = (
            f"SELECT household_no, id, created_at, {', '.join(HOUSEHOLD_FIELDS)} FROM households "
            "WHERE household_no IN ({marks})")
        self.member_lookup = (
            "SELECT m.id_hash, m.id, m.household_id, h.household_no, m.id_enc, h.created_at, "
            "h.village_code, "
            f"{', '.join('m.' + f for f in MEMBER_FIELDS)} FROM members m "
            "JOIN households h ON h.id = m.household_id WHERE m.id_hash IN ({marks})")
        # Raw rows come back as the driver gives them: convert as the ORM would, so a
        # re-import compares like with like (booleans, times).
        created = Household.__table__.c.created_at.type.dialect_impl(dialect)
        self.created = created.result_processor(dialect, None) or (lambda x: x)
        flags = {MEMBER_FIELDS.index(f) for f in ("dibao", "tekun", "mandarin")}
        self._member_values = lambda row: (bool(x) if i in flags and x is not None else x
                                           for i, x in enumerate(row))
        self.household_sql = (f"INSERT INTO households ({', '.join(hcols)}) "
                              f"VALUES ({', '.join([mark] * len(hcols))})")

    def write(self, chunk, rows: list) -> None:
        """Write a validated chunk.  ``rows`` are its member rows as inserted but for
        the last value: (encrypted number, look-up hash, *MEMBER_FIELDS, created,
        updated, place of the household among the chunk's accepted ones), where the
        household's id goes; the number and hash are None in a row with no valid
        number."""
        if not (self.insert_first and self._write_new(chunk, rows)):
            self._write_checked(chunk, rows)

    def _write_new(self, chunk, rows: list) -> bool:
        """The common case, a chunk of new households, without looking anything up
        first: insert, and let the unique indexes say whether a household number or
        an ID number is already in the registry (or twice in the chunk).  If one is,
        undo what this chunk inserted and return False: ``_write_checked`` then
        finds and reports it.  SQLite only: it keeps the transaction going after a
        failed statement, where PostgreSQL would need a savepoint per chunk."""
        keep = [h for h in chunk.households if not h.rejected]
        levels = self.regions.levels
        if any(h.new_region is not None and h.new_region[0] not in levels for h in keep):
            return False  # regions to create: the checked path creates them
        last = self._last_household_id()
        cursor = self.cursor
        try:
            if keep:
                stamp = self.stamp
                cursor.executemany(self.household_sql, [(h.household_no, *h.values, stamp, stamp)
                                                        for h in keep])
            if len(keep) == len(chunk.households):
                members = rows
            else:
                members = list(itertools.chain.from_iterable(rows[h.start:h.end] for h in keep))
            if self._last_household_id() == last + len(keep):
                # SQLite gives each new row the largest id so far plus one, so these
                # households have the next ids in turn: a row's last value, the place
                # of its household among those kept, plus the first id is its own.
                sql = self.member_sql_from.format(first=int(last) + 1)
            else:  # (not so past the largest id: read them back)
                found = self._household_ids(keep)
                ids = [found[h.household_no] for h in keep]
                members = [row[:-1] + (ids[row[-1]],) for row in members]
                sql = self.member_sql
            if members:
                cursor.executemany(sql, members)
        except self.integrity_error:
            # Only this chunk's households have ids above ``last``, and only they
            # have members pointing at them.
            cursor.execute(self.undo_members, (last,))
            cursor.execute(self.undo_households, (last,))
            return False
        self._reject(chunk, [h for h in chunk.households if h.rejected], [])
        self.report.households_created += len(keep)
        self.report.members_created += len(members)
        return True

    def _write_checked(self, chunk, rows: list) -> None:
        """Look up the chunk's household numbers and ID numbers first, then reject,
        insert or update household by household, recording every change."""
        report = self.report
        numbers = chunk.numbers
        hashes = [row[1] for row in rows]
        id_column = self.column("id_number")
        existing_h, existing_m = self._existing(chunk.households, hashes)
        errors: list[Issue] = []
        keep, rejected = [], []
        in_chunk: set[bytes] = set()
        for h in chunk.households:
            found = existing_h.get(h.household_no)
            if found is not None and found[2] == self.now:
                # Written earlier in this file: its rows are not consecutive.
                errors.append(Issue(numbers[h.start], self.column("household_no"),
                                    "household_split", {"household": h.household_no}))
                h = h._replace(rejected=True)
            if h.rejected:
                rejected.append(h)
                continue
            if found is not None:
                problem = self._moved(h, found[1][0], numbers[h.start])
                if problem is not None:
                    errors.append(problem)
                    rejected.append(h)
                    continue
            mine = hashes[h.start:h.end]
            bad = []
            if len(set(mine)) != len(mine) or not in_chunk.isdisjoint(mine):
                local: set[bytes] = set()
                for k in range(h.start, h.end):
                    if hashes[k] in in_chunk or hashes[k] in local:
                        bad.append(Issue(numbers[k], id_column, "id_duplicate", {}))
                    local.add(hashes[k])
            if existing_m:
                own = found[0] if found is not None else None
                for k in range(h.start, h.end):
                    other = existing_m.get(hashes[k])
                    if other is not None and other[1] != own:
                        if other[5] == self.now:  # that household came from this file
                            bad.append(Issue(numbers[k], id_column, "id_duplicate", {}))
                        elif not other[6].startswith(self.scope):
                            bad.append(Issue(numbers[k], id_column, "registered_elsewhere", {}))
                        else:
                            bad.append(Issue(numbers[k], id_column, "id_registered",
                                             {"household": other[2]}))
            if bad:
                errors.extend(bad)
                rejected.append(h)
                continue
            in_chunk.update(mine)
            keep.append(h)
        self._reject(chunk, rejected, errors)
        self._create_regions(keep)
        new_h = [h for h in keep if h.household_no not in existing_h]
        old_h = [h for h in keep if h.household_no in existing_h]
        ids = self._insert_households(new_h)
        new_members = []
        for h in new_h:
            tail = (ids[h.household_no],)
            new_members.extend([row[:-1] + tail for row in rows[h.start:h.end]])
        for h in old_h:
            self._update_household(h, existing_h[h.household_no], chunk, rows, existing_m,
                                   new_members)
        if new_members:
            self.conn.exec_driver_sql(self.member_sql, new_members)
        report.households_created += len(new_h)
        report.members_created += sum(h.end - h.start for h in new_h)

    def _moved(self, h, village: str, row: int) -> Issue | None:
        """Why an existing household cannot take this file's rows: registered outside the
        importer's region (said without naming anything there), or in another village (a move
        is an explicit change on the household's page, never a side effect of a file)."""
        if not village.startswith(self.scope):
            return Issue(row, self.column("household_no"), "registered_elsewhere", {})
        if village != h.values[0]:
            return Issue(row, self.column("village_code"), "household_moved",
                         {"household": h.household_no, "village": village})
        return None

    def _reject(self, chunk, rejected: list, errors: list[Issue]) -> None:
        """Count the rejected households' rows and report why (``errors`` are the
        chunk's own, found here)."""
        if rejected:
            numbers = chunk.numbers
            self.report.rejected += sum(h.end - h.start for h in rejected)
            # Every rejected row gets a reason, also those rejected for a sibling's error.
            faulty = {e.row for e in chunk.errors} | {e.row for e in errors}
            hno_column = self.column("household_no")
            errors.extend(Issue(numbers[k], hno_column, "household_rejected", {})
                          for h in rejected for k in range(h.start, h.end)
                          if numbers[k] not in faulty)
        if errors:
            self.report.add_errors(errors)

    def _existing(self, households, hashes):
        """Households (by number) and members (by ID hash) of this chunk already
        in the database, including those written earlier in this import: the
        database, not memory, remembers what a file has seen."""
        numbers = [h.household_no for h in households if h.household_no]
        found_h = {}
        for part in _batched(numbers, 500):
            for row in self._select(self.household_lookup, part):
                found_h[row[0]] = (row[1], tuple(row[3:]), self.created(row[2]))
        wanted = [x for h in households if not h.rejected for x in hashes[h.start:h.end]]
        found_m = {}
        for part in _batched(wanted, 500):
            for row in self._select(self.member_lookup, part):
                found_m[bytes(row[0])] = (row[1], row[2], row[3], bytes(row[4]),
                                          tuple(self._member_values(row[7:])),
                                          self.created(row[5]), row[6])
        return found_h, found_m

    def _select(self, sql: str, keys: list):
        # Plain SQL: these run once per chunk on the hot path, where compiling
        # an IN (...) of hundreds of parameters through the ORM costs more than the query.
        marks = ", ".join([self.mark] * len(keys))
        return self.conn.exec_driver_sql(sql.format(marks=marks), tuple(keys)).all()

    def _create_regions(self, households) -> None:
        from lms.regions.models import Region

        for h in households:
            if h.new_region is None or h.new_region[0] in self.regions.levels:
                continue
            code, town_name, village_name = h.new_region
            town = code[:9] + "000"
            new = []
            if town not in self.regions.levels:
                new.append(Region(code=town, name=town_name, level=4,
                                  parent_code=code[:6] + "000000"))
                self.regions.add(town, town_name, 4, code[:6] + "000000")
            new.append(Region(code=code, name=village_name, level=5, parent_code=town))
            db.session.add_all(new)
            self.created_regions.extend(new)
            self.regions.add(code, village_name, 5, town)
        db.session.flush()

    def _last_household_id(self) -> int:
        return self.cursor.execute("SELECT max(id) FROM households").fetchone()[0] or 0

    def _insert_households(self, households) -> dict[str, int]:
        """Insert with executemany, then read the new ids back by number (one
        query per thousand: cheaper than RETURNING row by row)."""
        if not households:
            return {}
        stamp = self.stamp
        self.conn.exec_driver_sql(self.household_sql,
                                  [(h.household_no, *h.values, stamp, stamp) for h in households])
        return self._household_ids(households)

    def _household_ids(self, households) -> dict[str, int]:
        ids = {}
        for part in _batched([h.household_no for h in households], 500):
            ids.update(self._select("SELECT household_no, id FROM households "
                                    "WHERE household_no IN ({marks})", part))
        return ids

    def _update_household(self, h, existing, chunk, rows, existing_m, new_members):
        hid, old_values, _created = existing
        changes = []
        changed = {}
        for name, old, new in zip(HOUSEHOLD_FIELDS, old_values, h.values):
            if old != new:
                changed[name] = new
                changes.append(self._change(hid, None, name, old, new))
        if changed:
            changed["updated_at"] = self.now
            db.session.execute(update(Household).where(Household.id == hid).values(**changed))
        any_member_change = False
        values = slice(2, 2 + len(MEMBER_FIELDS))
        for k in range(h.start, h.end):
            row = rows[k]
            found = existing_m.get(row[1])
            if found is None:
                new_members.append(row[:-1] + (hid,))
                self.report.members_created += 1
                any_member_change = True
                continue
            mid, _hid, _no, enc, old_member, _created, _village = found
            diff = {}
            for name, old, new in zip(MEMBER_FIELDS, old_member, row[values]):
                if old != new:
                    diff[name] = new
                    changes.append(self._change(hid, mid, name, old, new))
            if self.cipher.decrypt(enc) != self.cipher.decrypt(row[0]):
                diff["id_enc"] = row[0]
                changes.append(self._change(hid, mid, "id_number", "", ""))
            if diff:
                diff["updated_at"] = self.now
                db.session.execute(update(Member).where(Member.id == mid).values(**diff))
                self.report.members_updated += 1
                any_member_change = True
            else:
                self.report.unchanged += 1
        if changes:
            db.session.execute(MemberChange.__table__.insert(), changes)
        if changed or any_member_change:
            self.report.households_updated += 1

    def _change(self, household_id, member_id, name, old, new) -> dict:
        return {"household_id": household_id, "member_id": member_id, "field": name,
                "old": _text(old), "new": _text(new), "changed_at": self.now,
                "import_id": self.import_id, "user_id": self.user_id}


def _batched(items, n):
    it = iter(items)
    while part := list(itertools.islice(it, n)):
        yield part


class _SplitFound(Exception):
    """A household number met again after other households: its rows are not
    all together in the file."""


def import_households(path: str | os.PathLike, *, filename: str | None = None,
                      user=None, record: HouseholdImport | None = None, dry_run: bool = False,
                      strict: bool = False, create_regions: bool = False, scope: str = "",
                      progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import a member export (CSV or XLSX).  Writes through the session; the
    caller commits when ``report.changes_kept`` and rolls back otherwise.

    ``scope`` is the importing official's region prefix: rows of villages
    outside it are rejected.

    A household is imported whole or not at all, also when its rows are not all
    together in the file: then every part of it is rejected (``household_split``
    on the first row of each part, ``household_rejected`` on the others) and
    nothing of it is written.  The import first runs hoping no household is split,
    noting a hash of each household number it passes (memory: some 70 bytes a
    household).  On meeting one again it goes back to a savepoint taken at the
    start and runs once more, knowing from a quick first pass over the household
    numbers which ones are split."""
    from lms.crypto import rotation_pending

    if rotation_pending():  # stored numbers under an old key would not be recognised: duplicates
        report = ImportReport(dry_run=dry_run, strict=strict, unusable=True)
        report.add_errors([Issue(0, "", "data_key_rotating", {})])
        return report
    options = dict(filename=filename, user=user, record=record, dry_run=dry_run,
                   strict=strict, create_regions=create_regions, scope=scope,
                   progress=progress)
    connection = db.session.connection()
    connection.exec_driver_sql("SAVEPOINT households_import")
    created_regions: list = []
    try:
        return _import(path, split=None, created_regions=created_regions, **options)
    except _SplitFound:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT households_import")
        for region in created_regions:  # gone from the database: from the session too
            db.session.expunge(region)
        try:
            split = _split_households(open_sheet(path, filename))
        except SheetError as exc:
            report = ImportReport(dry_run=dry_run, strict=strict, unusable=True)
            report.add_errors([Issue(0, "", exc.code, exc.params)])
            return report
        return _import(path, split=split, created_regions=[], **options)


def _import(path, *, split: set[str] | None, created_regions: list, filename, user, record,
            dry_run, strict, create_regions, scope, progress) -> ImportReport:
    """One run of the import; ``split`` is None while no household is known to
    be split (then _SplitFound when one turns out to be)."""
    from lms.regions.models import Region

    report = ImportReport(dry_run=dry_run, strict=strict)
    try:
        sheet = open_sheet(path, filename)
    except SheetError as exc:
        report.unusable = True
        report.add_errors([Issue(0, "", exc.code, exc.params)])
        return report
    report.format, report.encoding, report.header_row = sheet.format, sheet.encoding, sheet.header_row
    report.unknown_columns = sheet.unknown_columns
    regions = RegionIndex(db.session.execute(
        select(Region.code, Region.name, Region.level, Region.parent_code)))
    validator = RowValidator(sheet.mapping, sheet.headers, regions,
                             default_year=utcnow().year, create_regions=create_regions,
                             scope=scope)
    writer = _Writer(report, record.id if record else None, getattr(user, "id", None), regions,
                     validator.column, created_regions, scope)
    changed_villages: set[str] = set()
    chunks = _validated(sheet, validator, current_app.config["DATA_KEY"], writer.stamp,
                        watch=split is None)
    if sheet.format == "csv" and os.path.getsize(path) >= PIPELINE_MIN_BYTES:
        chunks = _Helper(chunks)
    try:
        household_column = validator.column("household_no")
        with _collector_paused():
            for count, (chunk, rows) in enumerate(chunks, 1):
                if count % _COLLECT_EVERY == 0:
                    gc.collect(1)
                if split:
                    checked = _reject_split(chunk, split, household_column)
                    if checked is not chunk:  # fewer households accepted: new places
                        chunk, rows = checked, _placed(checked, rows)
                report.rows += len(chunk.numbers)
                report.add_errors(chunk.errors)
                report.add_warnings(chunk.warnings)
                writer.write(chunk, rows)
                changed_villages.update(h.values[0] for h in chunk.households if not h.rejected)
                if progress is not None:
                    progress(report.rows)
    except SheetError as exc:  # e.g. undecodable bytes half-way through
        report.unusable = True
        report.add_errors([Issue(0, "", exc.code, exc.params)])
        return report
    finally:
        if isinstance(chunks, _Helper):
            chunks.close()
    if record is not None:
        record.rows_total = report.rows
    if changed_villages:
        from .signals import registry_changed

        registry_changed.send(None, village_codes=changed_villages)
    return report


# A chunk is a few hundred thousand small objects (cells, tuples).  The cyclic
# collector's automatic passes walk all of them again and again: a third of the
# import's CPU.  They form no cycles (reference counting frees them), so the import
# pauses automatic collection and collects the young objects every this many chunks.
_COLLECT_EVERY = 20


@contextlib.contextmanager
def _collector_paused():
    """Automatic garbage collection off for a block (the caller collects when due)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Rules on a household's rows as a whole: for a household whose rows are not
# together, the one that matters is that they are not (``household_split``).
_HOUSEHOLD_RULES = frozenset({"no_head", "many_heads", "many_spouses", "spouse_same_sex"})


def _reject_split(chunk, split: set[str], column: str):
    """``chunk`` with its households that also have rows elsewhere in the file
    (``split``) rejected as ``household_split``, every part of them, wherever it
    is: a household is imported whole or not at all.  The validator sees one
    chunk; it only knows of the parts inside it."""
    parts = [h for h in chunk.households if h.household_no in split]
    if not parts:
        return chunk
    numbers = chunk.numbers
    flagged = {e.row for e in chunk.errors if e.code == "household_split"}
    parts = [h for h in parts if numbers[h.start] not in flagged]
    rows = {numbers[k] for h in parts for k in range(h.start, h.end)}
    errors = [e for e in chunk.errors if e.code not in _HOUSEHOLD_RULES or e.row not in rows]
    errors.extend(Issue(numbers[h.start], column, "household_split", {"household": h.household_no})
                  for h in parts)
    households = [h._replace(rejected=True) if h.household_no in split else h
                  for h in chunk.households]
    return chunk._replace(households=households, errors=errors)


def _placed(chunk, rows: list) -> list:
    """``rows`` with their last value (the place of the row's household among the
    chunk's accepted ones, see ``_validated``) set anew."""
    places = [-1] * len(rows)
    for place, h in enumerate(h for h in chunk.households if not h.rejected):
        places[h.start:h.end] = [place] * (h.end - h.start)
    return [row[:-1] + (place,) for row, place in zip(rows, places)]


def _split_households(sheet) -> set[str]:
    """The household numbers whose rows are not all together in the file: a first
    quick pass over that one column (``validation.split_households``)."""
    index = sheet.mapping["household_no"]
    try:
        return split_households(functools.partial(sheet.column, index))
    except IrregularLines:
        return split_households(functools.partial(sheet.column, index, as_text=True))


def _validated(sheet, validator, data_key: str, stamp, watch: bool = False):
    """(chunk, member rows) for the sheet's rows, chunk by chunk: the rows as
    ``_Writer.write`` inserts them (``stamp`` is their creation time), so the
    writer has one value to add per row and the helper sends one tuple a row.

    ``watch``: raise _SplitFound on a household number met in an earlier chunk."""
    keyed = _cipher_for(data_key)
    digest, seal = keyed.digest_many, keyed.encrypt_many
    stamps = itertools.repeat(stamp)
    width = max(sheet.mapping.values()) + 1
    seen: set[int] = set()
    for numbers, columns in _whole_households(sheet.column_blocks(CHUNK_ROWS, width),
                                              sheet.mapping["household_no"]):
        chunk = validator.validate(numbers, columns)
        if watch:
            # A hash, not the number: a rare false alarm costs a second run only.
            mine = {hash(h.household_no) for h in chunk.households if h.household_no}
            if not seen.isdisjoint(mine):
                raise _SplitFound()
            seen |= mine
        hashes = digest(chunk.person_ids)
        sealed = seal(chunk.doc_numbers)
        # Last in each row: the place of its household among the chunk's accepted
        # ones (the writer turns it into the household's id).
        places = [-1] * len(numbers)
        for place, h in enumerate(h for h in chunk.households if not h.rejected):
            places[h.start:h.end] = [place] * (h.end - h.start)
        rows = list(zip(sealed, hashes, *chunk.members, stamps, stamps, places))  # see _placed
        yield chunk._replace(members=None, person_ids=None, doc_numbers=None), rows


# Above this size a CSV is read, validated and encrypted in a helper process
# while this one writes: the two halves of the work then share the two cores.
PIPELINE_MIN_BYTES = 8 * 1024 * 1024
_DONE = "done"


def _packed(chunk, rows: list) -> tuple:
    """A chunk as it crosses to the writer: marshal for the member rows of plain
    values (quicker than pickle both ways; on PostgreSQL their times are datetimes,
    which marshal cannot take)."""
    try:
        return chunk, marshal.dumps(rows)
    except ValueError:
        return chunk, rows


def _unpacked(chunk, rows) -> tuple:
    return chunk, marshal.loads(rows) if rows.__class__ is bytes else rows


class _Helper:
    """The ``chunks`` generator run in a forked helper process, started at once;
    iterate to get what it produces, ``close()`` to stop it.

    The helper only reads the file and computes: it never touches the database
    (the forked connection stays unused).  A bounded queue keeps memory flat."""

    def __init__(self, chunks):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.queue = queue = context.Queue(maxsize=8)
        self.chunks = chunks

        def produce():
            gc.disable()  # see _COLLECT_EVERY
            try:
                for count, item in enumerate(chunks, 1):
                    if count % _COLLECT_EVERY == 0:
                        gc.collect(1)
                    queue.put(("chunk", _packed(*item)))
                queue.put((_DONE, None))
            except SheetError as exc:
                queue.put(("sheet_error", (exc.code, exc.params)))
            except _SplitFound:
                queue.put(("split", None))
            except BaseException as exc:  # reported to the parent, which raises
                queue.put(("error", repr(exc)))

        self.process = context.Process(target=produce, daemon=True)
        try:
            self.process.start()
        except (AssertionError, OSError):  # e.g. inside a daemonic worker process
            self.process = None
            queue.close()

    def __iter__(self):
        if self.process is None:
            yield from self.chunks
            return
        while True:
            kind, item = self.queue.get()
            if kind == "chunk":
                yield _unpacked(*item)
            elif kind == _DONE:
                break
            elif kind == "sheet_error":
                raise SheetError(item[0], **item[1])
            elif kind == "split":
                raise _SplitFound()
            else:
                raise RuntimeError(f"import helper failed: {item}")

    def close(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join()
            self.queue.close()
            self.process = None


def _whole_households(blocks, hno_col: int):
    """(numbers, columns) blocks that never split a household's consecutive rows:
    the last household of a block moves on to the next one.  Rows without a
    household number (each rejected on its own) may be cut anywhere."""
    carry_numbers: list[int] = []
    carry: list[list] = []
    for numbers, columns in blocks:
        if carry_numbers:
            numbers = carry_numbers + numbers
            columns = [a + b for a, b in zip(carry, columns)]
        hnos = columns[hno_col]
        last = _cell_text(hnos[-1])
        cut = len(numbers)
        if last:
            while cut > 0 and _cell_text(hnos[cut - 1]) == last:
                cut -= 1
        carry_numbers, carry = numbers[cut:], [c[cut:] for c in columns]
        if cut == len(numbers):
            yield numbers, columns
        elif cut:
            yield numbers[:cut], [c[:cut] for c in columns]
    if carry_numbers:
        yield carry_numbers, carry


class LinkError(ValueError):
    """Why a person cannot link to or register an account; ``str()`` is for them."""


def find_member_to_link(id_number: str, name: str) -> Member:
    """The registered member a person at a village terminal says they are."""
    from lms.accounts.models import User

    from .queries import member_by_id_number
    from .text import normalize

    member = member_by_id_number(id_number)
    if member is None or member.removed_at is not None:
        raise LinkError(_("No registered household member has this ID number. Check the number, "
                          "or register as a learner outside the registry."))
    if normalize(name) != normalize(member.name):
        raise LinkError(_("The name does not match the registry record for this ID number. "
                          "Enter the name exactly as on the ID card."))
    if db.session.scalar(select(User.id).where(User.member_id == member.id)):
        raise LinkError(_("This ID number already has a learner account. Sign in with your PIN, "
                          "or ask the village official to reset it."))
    return member


def create_member_account(member: Member, pin: str, actor=None):
    """A learner account for a registered member, signed in by ID number + PIN (``actor``: the
    official creating it, None when the person links themselves at a terminal)."""
    from lms.accounts.services import AccountError, create_user

    from .idnumbers import parse_id

    person_id = parse_id(cipher().decrypt(member.id_enc)).person_id
    try:
        user = create_user(username=person_id, role="learner", password=pin,
                           region_code=member.household.village_code, display_name=member.name,
                           actor=actor)
    except AccountError as exc:
        raise LinkError(str(exc)) from exc
    user.member_id = member.id
    db.session.flush()
    return user


def register_learner(identifier: str, name: str, village_code: str, pin: str):
    """A non-registry learner (not in a registered household)."""
    from lms.accounts.services import AccountError, create_user
    from lms.regions.models import Region

    from .queries import member_by_id_number

    if member_by_id_number(identifier) is not None:
        raise LinkError(_("This ID number is in the household registry: use “Find my household "
                          "record” instead."))
    region = db.session.get(Region, village_code)
    if region is None or region.level != 5:
        raise LinkError(_("Choose your village."))
    try:
        return create_user(username=identifier, role="learner", password=pin,
                           region_code=village_code, display_name=name.strip())
    except AccountError as exc:
        raise LinkError(str(exc)) from exc


def member_account(member: Member):
    from lms.accounts.models import User

    return db.session.scalar(select(User).where(User.member_id == member.id))


def set_member_account(member: Member, pin: str, actor):
    """An official creates a member's learner account, or resets its PIN. Audited."""
    from lms.accounts.services import AccountError, set_password
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    user = member_account(member)
    if user is None:
        user = create_member_account(member, pin, actor=actor)
        record(actor, "households.account_create", user, {"member": member.id})
    else:
        from .idnumbers import parse_id

        # The ID number lets the PIN check refuse the member's birth date.
        try:
            set_password(user, pin, identifier=parse_id(cipher().decrypt(member.id_enc)).person_id)
        except AccountError as exc:
            raise LinkError(str(exc)) from exc
        record(actor, "households.account_reset", user, {"member": member.id})
    return user


def reveal_id(member: Member, actor) -> str:
    """The unmasked ID number, for an official who asked to see it. Audited."""
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    record(actor, "households.show_id", member, {"household": member.household.household_no})
    return cipher().decrypt(member.id_enc)


def remove_member(member: Member, reason: str, actor) -> None:
    """Mark a member as removed from the registry (never deleted). Audited."""
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    now = utcnow()
    member.removed_at, member.removed_reason = now, reason.strip()[:200]
    db.session.add(MemberChange(household_id=member.household_id, member_id=member.id,
                                field="removed", old=None, new=member.removed_reason,
                                changed_at=now, user_id=getattr(actor, "id", None)))
    record(actor, "households.remove_member", member, {"reason": member.removed_reason})
    db.session.flush()
    from .signals import registry_changed

    registry_changed.send(None, village_codes={member.household.village_code})


class MoveError(ValueError):
    """Why a household cannot move; ``str()`` is for the official."""


def move_household(household: Household, village_code: str, actor) -> None:
    """Move a household to another village: an explicit change, only for an official whose
    region covers both villages (an import never moves one), recorded in the household's
    history and audited."""
    from lms.audit import record
    from lms.regions.models import Region
    from lms.regions.scope import code_in_scope, require_in_scope

    require_in_scope(actor, household.village_code)
    village = db.session.get(Region, (village_code or "").strip())
    # A village outside the official's region is "unknown" to them: nothing said about it.
    if village is None or village.level != 5 or (actor is not None
                                                 and not code_in_scope(actor, village.code)):
        raise MoveError(_("Choose a village of your region."))
    if village.code == household.village_code:
        raise MoveError(_("The household is already registered in this village."))
    old, now = household.village_code, utcnow()
    household.village_code, household.updated_at = village.code, now
    db.session.add(MemberChange(household_id=household.id, member_id=None, field="village_code",
                                old=old, new=village.code, changed_at=now,
                                user_id=getattr(actor, "id", None)))
    record(actor, "households.move", household, {"from": old, "to": village.code})
    db.session.flush()
    db.session.expire(household, ["village"])
    from .signals import registry_changed

    registry_changed.send(None, village_codes={old, village.code})
