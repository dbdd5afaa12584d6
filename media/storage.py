"""Where an asset's files live under LMS_MEDIA_ROOT, and publishing with one rename.

    <root>/uploads/<asset>.part          an upload in progress
    <root>/assets/<asset>/source<ext>    the original, kept for retries
    <root>/assets/<asset>/v<version>/    published renditions (immutable)
    <root>/assets/<asset>/.work-*        a transcode in progress (never served)
"""
from __future__ import annotations

import os
import shutil
import tempfile

WORK_PREFIX = ".work-"


class AlreadyPublished(Exception):
    """Another attempt already published this version."""


def asset_dir(root: str, asset_id: int) -> str:
    return os.path.join(root, "assets", str(asset_id))


def version_dir(root: str, asset_id: int, version: int) -> str:
    return os.path.join(asset_dir(root, asset_id), f"v{version}")


def version_relpath(asset_id: int, version: int, name: str = "") -> str:
    """A path relative to the media root, with '/' separators (for JSON and X-Accel)."""
    parts = ["assets", str(asset_id), f"v{version}"] + ([name] if name else [])
    return "/".join(parts)


def published_file(root: str, asset_id: int, version: int, name: str) -> str | None:
    """The path of a published file of an asset's version (``name`` inside the version folder,
    e.g. "master.m3u8" or "240p/seg-00001.m4s"), or None when there is no such regular file or the
    name would leave the folder. The Flask view and the signed-link fast path both resolve files
    with this function."""
    from werkzeug.security import safe_join

    path = safe_join(str(root), version_relpath(asset_id, version), name)
    return path if path is not None and os.path.isfile(path) else None


def upload_path(root: str, asset_id: int) -> str:
    return os.path.join(root, "uploads", f"{asset_id}.part")


def source_path(root: str, asset_id: int, ext: str) -> str:
    ext = ext.lower() if ext and len(ext) <= 8 and ext[1:].isalnum() else ""
    return os.path.join(asset_dir(root, asset_id), f"source{ext}")


def make_work_dir(root: str, asset_id: int) -> str:
    folder = asset_dir(root, asset_id)
    os.makedirs(folder, exist_ok=True)
    work = tempfile.mkdtemp(prefix=WORK_PREFIX, dir=folder)
    # mkdtemp makes it 0700; once published, nginx (another user) serves it via X-Accel.
    os.chmod(work, 0o755)
    return work


def publish(work_dir: str, final_dir: str) -> None:
    """Make `work_dir` visible as `final_dir` with one rename; exactly once per version."""
    fsync_tree(work_dir)
    try:
        # rename(2) refuses to replace a non-empty directory: a second attempt loses.
        os.rename(work_dir, final_dir)
    except OSError as exc:
        if os.path.isdir(final_dir):
            shutil.rmtree(work_dir, ignore_errors=True)
            raise AlreadyPublished(final_dir) from exc
        raise
    _fsync_dir(os.path.dirname(final_dir))


def fsync_tree(folder: str) -> None:
    for base, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(base, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(base)


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_work_dirs(root: str, asset_id: int) -> int:
    """Remove leftovers of killed attempts; returns how many were removed."""
    folder = asset_dir(root, asset_id)
    if not os.path.isdir(folder):
        return 0
    removed = 0
    for entry in os.scandir(folder):
        if entry.is_dir() and entry.name.startswith(WORK_PREFIX):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def remove_old_versions(root: str, asset_id: int, keep: int) -> None:
    folder = asset_dir(root, asset_id)
    if not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.is_dir() and entry.name.startswith("v") and entry.name != f"v{keep}":
            shutil.rmtree(entry.path, ignore_errors=True)


def remove_asset(root: str, asset_id: int) -> None:
    shutil.rmtree(asset_dir(root, asset_id), ignore_errors=True)
    try:
        os.remove(upload_path(root, asset_id))
    except FileNotFoundError:
        pass


def disk_status(root: str | None = None) -> dict:
    """{"free", "total", "reserve", "ok"} of the media volume (media.space; for /healthz)."""
    from .space import disk_status as status

    return status(root)
