"""The database writer of a household import: validated chunks inserted with
executemany on the session's connection, existing households and members
updated field by field with a history row per change.

Kept apart from reading and validating because it is the only part of the
import that touches the database (the helper process never does).  It flushes,
never commits: the import's caller commits or rolls back.
"""
from __future__ import annotations

import enum
import itertools
from collections.abc import Callable

from sqlalchemy import update

from lms.db import utcnow
from lms.extensions import db
from lms.spreadsheets.report import Issue

from ..models import Household, Member, MemberChange
from ..services import cipher
from ..validation import HOUSEHOLD_FIELDS, MEMBER_FIELDS, RegionIndex
from .report import ImportReport


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


def _history_text(value) -> str | None:
    """A value as the history table stores it (text)."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)

# How many members' row numbers a file import remembers to name the other row of a duplicate.
ROWS_REMEMBERED = 200_000


class ChunkWriter:
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
        # ID hash → row number of the members this file wrote, so a duplicate names the other row;
        # bounded (about 30 MB): past it a duplicate names the other household instead.
        self.rows_by_hash: dict[bytes, int] = {}
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
        self._remember_rows(chunk, rows, keep)
        self.report.households_created += len(keep)
        self.report.members_created += len(members)
        return True

    def _remember_rows(self, chunk, rows: list, households) -> None:
        if len(self.rows_by_hash) < ROWS_REMEMBERED:
            self.rows_by_hash.update((rows[k][1], chunk.numbers[k]) for h in households for k in range(h.start, h.end))

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
        in_chunk: dict[bytes, int] = {}  # ID hash → its row number, to name the other row of a duplicate
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
            if len(set(mine)) != len(mine) or not in_chunk.keys().isdisjoint(mine):
                local: dict[bytes, int] = {}
                for k in range(h.start, h.end):
                    other_row = in_chunk.get(hashes[k]) or local.get(hashes[k])
                    if other_row is not None:
                        bad.append(Issue(numbers[k], id_column, "id_duplicate", {"other": other_row}))
                    local.setdefault(hashes[k], numbers[k])
            if existing_m:
                own = found[0] if found is not None else None
                for k in range(h.start, h.end):
                    other = existing_m.get(hashes[k])
                    if other is not None and other[1] != own:
                        if other[5] == self.now:  # that household came from this file
                            row = self.rows_by_hash.get(hashes[k])
                            bad.append(Issue(numbers[k], id_column, "id_duplicate",
                                             {"other": row} if row else {"household": other[2]}))
                        elif not other[6].startswith(self.scope):
                            bad.append(Issue(numbers[k], id_column, "registered_elsewhere", {}))
                        else:
                            bad.append(Issue(numbers[k], id_column, "id_registered",
                                             {"household": other[2]}))
            if bad:
                errors.extend(bad)
                rejected.append(h)
                continue
            in_chunk.update((hashes[k], numbers[k]) for k in range(h.start, h.end))
            keep.append(h)
        self._reject(chunk, rejected, errors)
        self._remember_rows(chunk, rows, keep)
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
        for part in batched(numbers, 500):
            for row in self._select(self.household_lookup, part):
                found_h[row[0]] = (row[1], tuple(row[3:]), self.created(row[2]))
        wanted = [x for h in households if not h.rejected for x in hashes[h.start:h.end]]
        found_m = {}
        for part in batched(wanted, 500):
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
        for part in batched([h.household_no for h in households], 500):
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
                "old": _history_text(old), "new": _history_text(new), "changed_at": self.now,
                "import_id": self.import_id, "user_id": self.user_id}


def batched(items, n):
    """``items`` in lists of at most ``n``."""
    it = iter(items)
    while part := list(itertools.islice(it, n)):
        yield part

