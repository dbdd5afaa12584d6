"""Reading and validating a household export for the import: the sheet's rows
in chunks that never cut a household, validated and encrypted into the rows the
writer inserts, in a forked helper process for a big CSV (so reading and writing
share the two cores), and the household numbers whose rows are not together.

Nothing here touches the database: the helper process must not, and the writer
(``writer.py``) is the one part that does.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import gc
import itertools
import marshal
import os
from collections.abc import Callable, Iterable

from lms.spreadsheets.report import Issue
from lms.spreadsheets.sheet import SheetError

from ..column_rules import cell_text
from ..services import cipher_for_key
from ..spreadsheet import IrregularLines, column

# Rows validated and written together: big enough for executemany to pay off,
# small enough that a chunk's cells stay in the processor's caches (1,000 rows
# read and validate a quarter faster than 5,000).
CHUNK_ROWS = 1000


class SplitFound(Exception):
    """A household number met again after other households: its rows are not
    all together in the file."""


# A chunk is a few hundred thousand small objects (cells, tuples).  The cyclic
# collector's automatic passes walk all of them again and again: a third of the
# import's CPU.  They form no cycles (reference counting frees them), so the import
# pauses automatic collection and collects the young objects every this many chunks.
COLLECT_EVERY = 20


@contextlib.contextmanager
def collector_paused():
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
HOUSEHOLD_RULES = frozenset({"no_head", "many_heads", "many_spouses", "spouse_same_sex"})


def reject_split(chunk, split: set[str], column: str):
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
    errors = [e for e in chunk.errors if e.code not in HOUSEHOLD_RULES or e.row not in rows]
    errors.extend(Issue(numbers[h.start], column, "household_split", {"household": h.household_no})
                  for h in parts)
    households = [h._replace(rejected=True) if h.household_no in split else h
                  for h in chunk.households]
    return chunk._replace(households=households, errors=errors)


def placed_anew(chunk, rows: list) -> list:
    """``rows`` with their last value (the place of the row's household among the
    chunk's accepted ones, see ``validated_chunks``) set anew."""
    places = [-1] * len(rows)
    for place, h in enumerate(h for h in chunk.households if not h.rejected):
        places[h.start:h.end] = [place] * (h.end - h.start)
    return [row[:-1] + (place,) for row, place in zip(rows, places)]


def households_split_in(sheet) -> set[str]:
    """The household numbers whose rows are not all together in the file: a first
    quick pass over that one column (``split_households``)."""
    index = sheet.mapping["household_no"]
    try:
        return split_households(functools.partial(column, sheet, index))
    except IrregularLines:
        return split_households(functools.partial(column, sheet, index, as_text=True))


def validated_chunks(sheet, validator, data_key: str, stamp, watch: bool = False):
    """(chunk, member rows) for the sheet's rows, chunk by chunk: the rows as
    ``ChunkWriter.write`` inserts them (``stamp`` is their creation time), so the
    writer has one value to add per row and the helper sends one tuple a row.

    ``watch``: raise SplitFound on a household number met in an earlier chunk."""
    keyed = cipher_for_key(data_key)
    digest, seal = keyed.digest_many, keyed.encrypt_many
    stamps = itertools.repeat(stamp)
    width = max(sheet.mapping.values()) + 1
    seen: set[int] = set()
    for numbers, columns in whole_households(sheet.column_blocks(CHUNK_ROWS, width),
                                             sheet.mapping["household_no"]):
        chunk = validator.validate(numbers, columns)
        if watch:
            # A hash, not the number: a rare false alarm costs a second run only.
            mine = {hash(h.household_no) for h in chunk.households if h.household_no}
            if not seen.isdisjoint(mine):
                raise SplitFound()
            seen |= mine
        hashes = digest(chunk.person_ids)
        sealed = seal(chunk.doc_numbers)
        # Last in each row: the place of its household among the chunk's accepted
        # ones (the writer turns it into the household's id).
        places = [-1] * len(numbers)
        for place, h in enumerate(h for h in chunk.households if not h.rejected):
            places[h.start:h.end] = [place] * (h.end - h.start)
        rows = list(zip(sealed, hashes, *chunk.members, stamps, stamps, places))  # see placed_anew
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


class HelperProcess:
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
            gc.disable()  # see COLLECT_EVERY
            try:
                for count, item in enumerate(chunks, 1):
                    if count % COLLECT_EVERY == 0:
                        gc.collect(1)
                    queue.put(("chunk", _packed(*item)))
                queue.put((_DONE, None))
            except SheetError as exc:
                queue.put(("sheet_error", (exc.code, exc.params)))
            except SplitFound:
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
                raise SplitFound()
            else:
                raise RuntimeError(f"import helper failed: {item}")

    def close(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join()
            self.queue.close()
            self.process = None


def whole_households(blocks, hno_col: int):
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
        last = cell_text(hnos[-1])
        cut = len(numbers)
        if last:
            while cut > 0 and cell_text(hnos[cut - 1]) == last:
                cut -= 1
        carry_numbers, carry = numbers[cut:], [c[cut:] for c in columns]
        if cut == len(numbers):
            yield numbers, columns
        elif cut:
            yield numbers[:cut], [c[:cut] for c in columns]
    if carry_numbers:
        yield carry_numbers, carry



def read_chunks(path, sheet, validator, data_key: str, stamp, watch: bool):
    """``validated_chunks`` of the sheet, from a helper process for a big CSV
    (``HelperProcess``: the caller closes it)."""
    chunks = validated_chunks(sheet, validator, data_key, stamp, watch=watch)
    if sheet.format == "csv" and os.path.getsize(path) >= PIPELINE_MIN_BYTES:
        return HelperProcess(chunks)
    return chunks


def split_households(numbers: Callable[[], Iterable[str]]) -> set[str]:
    """The household numbers that come in more than one run of consecutive rows.

    ``numbers()`` gives the household-number cell of every data row, in file order
    (blank rows left out); it is called a second time only when a household may be
    split.  Memory: a hash per household (about 70 bytes), not the rows."""
    seen: set[int] = set()
    maybe: set[str] = set()
    last_raw = last = None
    for raw in numbers():
        if raw == last_raw:
            continue
        last_raw, hno = raw, cell_text(raw)
        if hno == last or not hno:
            last = hno
            continue
        last = hno
        key = hash(hno)
        if key in seen:
            maybe.add(hno)  # seen before, or another number with the same hash
        else:
            seen.add(key)
    seen.clear()
    if not maybe:
        return set()
    runs = collections.Counter()
    last_raw = last = None
    for raw in numbers():
        if raw == last_raw:
            continue
        last_raw, hno = raw, cell_text(raw)
        if hno != last and hno in maybe:
            runs[hno] += 1
        last = hno
    return {hno for hno, count in runs.items() if count > 1}
