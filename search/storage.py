"""Layout of the index folder, shared by the writer (indexer) and the readers (searcher).

    <LMS_SEARCH_INDEX>/
        CURRENT              name of the live generation (replaced atomically)
        write.lock           flock held by the one writer
        rebuild.requested    a rebuild has been queued (avoids queueing one per request)
        gen-<stamp>-<rand>/  a whoosh index + meta.json

A rebuild fills a new generation folder and then replaces CURRENT with one rename, so a
reader sees either the old index or the new one, never a half-built one. The previous
generation is kept so searches that opened it just before the swap can finish.
"""
from __future__ import annotations

import gc
import json
import os
import warnings
from pathlib import Path

from whoosh import index as whoosh_index

from search.schema import SCHEMA_VERSION

POINTER = "CURRENT"
META = "meta.json"
LOCK = "write.lock"
REBUILD_MARK = "rebuild.requested"


class IndexUnavailable(Exception):
    """The index cannot serve queries; ``status`` is missing, stale or corrupt."""

    def __init__(self, status: str, detail: str = ""):
        super().__init__(f"{status}: {detail}" if detail else status)
        self.status = status
        self.detail = detail


def index_root(app=None) -> Path:
    if app is None:
        from flask import current_app

        app = current_app
    return Path(app.config["SEARCH_INDEX"])


def read_pointer(root: Path) -> str | None:
    try:
        name = (Path(root) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def write_pointer(root: Path, name: str) -> None:
    root = Path(root)
    tmp = root / f".{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_meta(gen_dir: Path) -> dict:
    try:
        meta = json.loads((gen_dir / META).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexUnavailable("corrupt", "meta.json missing") from exc
    except (ValueError, OSError) as exc:
        raise IndexUnavailable("corrupt", f"meta.json unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise IndexUnavailable("corrupt", "meta.json is not an object")
    return meta


def write_meta(gen_dir: Path, meta: dict) -> None:
    tmp = gen_dir / (META + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, gen_dir / META)


def open_current(root: Path):
    """Open the live generation: returns (name, whoosh index) or raises IndexUnavailable."""
    root = Path(root)
    name = read_pointer(root)
    if name is None:
        raise IndexUnavailable("missing", "no CURRENT pointer")
    gen_dir = root / name
    if not gen_dir.is_dir():
        raise IndexUnavailable("missing", f"{name} does not exist")
    meta = read_meta(gen_dir)
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise IndexUnavailable("stale", f"schema {meta.get('schema_version')} != {SCHEMA_VERSION}")
    error = None
    try:
        ix = whoosh_index.open_dir(str(gen_dir))
    except Exception as exc:  # whoosh raises anything from EmptyIndexError to struct.error
        error = repr(exc)
        discard_failure(exc)
    if error is not None:
        raise IndexUnavailable("corrupt", error)
    return name, ix


def discard_failure(exc: BaseException) -> None:
    """Drop a whoosh failure's traceback now, with ResourceWarning silenced.

    Whoosh leaves files open when it fails on damaged data; they close when the
    traceback is collected. Collecting here keeps the warning from surfacing later in
    unrelated code (the test suite turns warnings into errors). Only on failure paths:
    catch_warnings is not thread-safe.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        while exc is not None:
            exc.__traceback__ = None
            exc = exc.__cause__ or exc.__context__
        gc.collect()


def generations(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("gen-"))
