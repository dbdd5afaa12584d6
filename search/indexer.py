"""The one writer of the search index (runs in the worker and in `flask search rebuild`).

Web processes never call this module; they only read (search.searcher). Every write
holds an exclusive flock on ``write.lock``, so an incremental update that arrives while a
rebuild runs waits and is then applied to the new generation instead of being lost with
the old one.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index

from search import storage
from search.schema import SCHEMA_VERSION, document_fields, make_schema

# Generations kept besides the live one, for searches that opened them just before a swap.
KEEP_PREVIOUS = 1


@contextmanager
def writer_lock(root: Path):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / storage.LOCK, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _new_generation_name() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"gen-{stamp}-{secrets.token_hex(3)}"


def rebuild(root: Path, documents: Iterable[dict]) -> dict:
    """Build a new generation from ``documents`` and swap it in atomically.

    Returns the new generation's meta (name, doc count, seconds).
    """
    root = Path(root)
    with writer_lock(root):
        return _rebuild_locked(root, documents)


def _rebuild_locked(root: Path, documents: Iterable[dict]) -> dict:
    started = time.monotonic()
    name = _new_generation_name()
    gen_dir = root / name
    gen_dir.mkdir(parents=True)
    try:
        ix = whoosh_index.create_in(str(gen_dir), make_schema())
        writer = ix.writer(limitmb=128)
        count = 0
        try:
            for doc in documents:
                writer.add_document(**document_fields(doc))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        ix.close()
        meta = {
            "schema_version": SCHEMA_VERSION,
            "generation": name,
            "documents": count,
            "built_at": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.monotonic() - started, 3),
        }
        storage.write_meta(gen_dir, meta)
    except BaseException:
        shutil.rmtree(gen_dir, ignore_errors=True)
        raise
    storage.write_pointer(root, name)
    _prune(root, keep=name)
    clear_rebuild_request(root)
    return meta


def _prune(root: Path, keep: str) -> None:
    old = [g for g in storage.generations(root) if g.name != keep]
    # Oldest first; keep the most recent KEEP_PREVIOUS besides the live one.
    for gen in old[: max(0, len(old) - KEEP_PREVIOUS)]:
        shutil.rmtree(gen, ignore_errors=True)


def apply(root: Path, upserts: Iterable[dict] = (), removals: Iterable[int | str] = (),
          rebuild_source=None) -> str:
    """Add or replace ``upserts`` and delete ``removals`` in the live generation.

    If the live index is missing, stale or corrupt and ``rebuild_source`` (a callable
    returning all documents) is given, rebuild from it instead. Returns "applied",
    "rebuilt" or the unavailable status.
    """
    root = Path(root)
    upserts = list(upserts)
    removals = [str(r) for r in removals]
    with writer_lock(root):
        try:
            _, ix = storage.open_current(root)
        except storage.IndexUnavailable as exc:
            if rebuild_source is None:
                return exc.status
            _rebuild_locked(root, rebuild_source())
            return "rebuilt"
        try:
            writer = ix.writer(timeout=30.0)
            try:
                for doc_id in removals:
                    writer.delete_by_term("id", doc_id)
                for doc in upserts:
                    writer.update_document(**document_fields(doc))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        except storage.IndexUnavailable:
            raise
        except Exception:
            if rebuild_source is None:
                raise
            ix.close()
            _rebuild_locked(root, rebuild_source())
            return "rebuilt"
        finally:
            ix.close()
    return "applied"


def request_rebuild(root: Path, max_age: float = 600.0) -> bool:
    """Mark that a rebuild is wanted; True if the caller should queue one now.

    The mark is created atomically, so among many web requests that notice a broken
    index only one queues the rebuild; a mark older than ``max_age`` seconds is taken
    as a lost job and replaced.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    mark = root / storage.REBUILD_MARK
    try:
        fd = os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            age = time.time() - mark.stat().st_mtime
        except FileNotFoundError:
            return request_rebuild(root, max_age)
        if age < max_age:
            return False
        mark.unlink(missing_ok=True)
        return request_rebuild(root, max_age)
    os.close(fd)
    return True


def clear_rebuild_request(root: Path) -> None:
    (Path(root) / storage.REBUILD_MARK).unlink(missing_ok=True)


def indexed_versions(root: Path) -> dict[str, str]:
    """{course id: document version} as held by the live generation (for the periodic check)."""
    _, ix = storage.open_current(root)
    try:
        with ix.searcher() as searcher:
            return {
                fields["id"]: fields.get("version") or ""
                for fields in searcher.all_stored_fields()
            }
    finally:
        ix.close()
