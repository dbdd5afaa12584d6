"""State changes for media: uploads, submission (probe), the transcoding job body, retry,
delete and recovery of jobs whose worker died. Services flush; the job body commits its own
progress (it is a long loop) and its end.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, delete, event, or_, select, update

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.settings import get_setting

from . import ladder, space, storage
from .ffmpeg import FFmpegError, timeout_for
from .models import Asset, AssetStatus, Rendition
from .probe import Probe, ProbeError, detect_screen_content, probe_file

# A chunk is held in memory and checksummed before it touches the file.
MAX_CHUNK_BYTES = 16 * 1024 * 1024
# The worker renews its lease with every progress report (≈ every 2 s); a lease left to
# expire means the worker died, and the recovery sweep hands the job to another.
LEASE_SECONDS = 120
RETRIES = 2
RETRY_DELAY = 30  # seconds, doubled per attempt
QUEUED_GRACE = timedelta(minutes=10)
PROBE_CODES = {"empty", "not_media", "no_streams", "truncated", "undecodable", "too_long"}


class UploadError(Exception):
    def __init__(self, code: str, status: int, offset: int | None = None, message: str | None = None):
        super().__init__(code)
        self.code, self.status, self.offset, self.message = code, status, offset, message


class AssetInUse(Exception):
    def __init__(self, uses: list[str]):
        super().__init__(", ".join(uses))
        self.uses = uses


class LeaseLost(Exception):
    """Another worker took this job over (ours was presumed dead) or the asset was deleted."""


# Other areas (courses) say whether an asset is in use: fn(asset_id) -> list of descriptions.
IN_USE_CHECKERS: list[Callable[[int], list[str]]] = []


def register_in_use_checker(checker: Callable[[int], list[str]]) -> None:
    if checker not in IN_USE_CHECKERS:
        IN_USE_CHECKERS.append(checker)


def uses_of(asset_id: int) -> list[str]:
    return [use for checker in IN_USE_CHECKERS for use in checker(asset_id)]


def media_root() -> str:
    return str(current_app.config["MEDIA_ROOT"])


def max_upload_bytes() -> int:
    return int(get_setting("media_max_upload_mb")) * 1024 * 1024


def _queue_transcode(asset_id: int) -> None:
    """Queue the transcode in this transaction (lms.queue's outbox): it exists once the asset does."""
    from lms.queue import enqueue

    from .tasks import transcode_job

    enqueue(transcode_job, asset_id)


def _split_name(filename: str) -> tuple[str, str]:
    name = os.path.basename(filename or "")[:255]
    return name, os.path.splitext(name)[1][:8].lower()


def create_upload(owner, title: str, filename: str, size: int) -> Asset:
    if size < 0:
        raise UploadError("bad_size", 400)
    if size > max_upload_bytes():
        raise UploadError("too_large", 413)
    try:
        space.require(space.upload_needs(size))
    except space.NoSpace as exc:
        # Refused before a byte is sent; the alert and its audit entry stay (the view commits them).
        space.alert("upload_refused", user=owner, exc=exc)
        raise UploadError("no_space", 507, message=space.refusal_message(exc)) from None
    name, ext = _split_name(filename)
    asset = Asset(title=(title or name or "")[:200], owner_id=getattr(owner, "id", None),
                  original_name=name, source_ext=ext, upload_size=size, upload_offset=0,
                  status=AssetStatus.uploading)
    db.session.add(asset)
    db.session.flush()
    _clear_leftovers(asset.id)
    part = storage.upload_path(media_root(), asset.id)
    os.makedirs(os.path.dirname(part), exist_ok=True)
    open(part, "wb").close()
    record(owner, "media.upload", asset, {"name": name, "size": size})
    if size == 0:
        _finish_upload(asset)
    return asset


def _clear_leftovers(asset_id: int) -> None:
    # SQLite may hand out the id of a deleted asset again; its folder must not be adopted.
    storage.remove_asset(media_root(), asset_id)


def received_bytes(asset: Asset) -> int:
    """What the server holds: the part file is the truth (the row may lag a failed commit)."""
    if asset.status != AssetStatus.uploading:
        return asset.upload_size
    try:
        return os.path.getsize(storage.upload_path(media_root(), asset.id))
    except FileNotFoundError:
        return 0


def append_chunk(asset: Asset, offset: int, data: bytes, sha256: str, actor=None) -> Asset:
    """Write one checksummed chunk at `offset`; the last one submits the upload.

    Concurrent PUTs of the same (last) chunk: one writes it, the others get 409 with the size the
    server holds. A full disk (ENOSPC) fails the upload at once, removes its part file and alerts
    admins; the caller commits that and answers 507 (the uploader stops retrying).
    """
    if asset.status != AssetStatus.uploading:
        raise UploadError("not_uploading", 409, offset=asset.upload_size)
    if len(data) > MAX_CHUNK_BYTES:
        raise UploadError("chunk_too_large", 413)
    if not data:
        raise UploadError("bad_size", 400, offset=received_bytes(asset))
    if not sha256 or hashlib.sha256(data).hexdigest() != sha256.strip().lower():
        raise UploadError("checksum", 422, offset=received_bytes(asset))
    part = storage.upload_path(media_root(), asset.id)
    try:
        fh = open(part, "r+b")
    except FileNotFoundError:  # another request finished the upload (or it was removed)
        raise UploadError("not_uploading", 409, offset=asset.upload_size) from None
    with fh:
        # Two tabs resuming the same upload must not interleave their writes.
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not os.path.exists(part):  # finished by the request that held the lock
            raise UploadError("not_uploading", 409, offset=asset.upload_size)
        current = os.fstat(fh.fileno()).st_size
        if offset != current:
            raise UploadError("offset", 409, offset=current)
        if current + len(data) > asset.upload_size:
            raise UploadError("too_large", 413, offset=current)
        try:
            fh.seek(offset)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            if not space.is_no_space(exc):
                raise
            _out_of_space_uploading(asset, actor)
            raise UploadError("no_space", 507, message=space.refusal_message(space.NoSpace())) from None
        asset.upload_offset = current + len(data)
    db.session.flush()
    if asset.upload_offset == asset.upload_size:
        _finish_upload(asset)
    return asset


def _out_of_space_uploading(asset: Asset, actor) -> None:
    """Free the partial file at once (it would keep the disk full) and fail the upload."""
    try:
        os.remove(storage.upload_path(media_root(), asset.id))
    except FileNotFoundError:
        pass
    asset.status, asset.error_code, asset.error_detail = AssetStatus.failed, "no_space", "ENOSPC while uploading"
    db.session.flush()
    space.alert("upload", asset=asset, user=actor)


def _finish_upload(asset: Asset) -> None:
    root = media_root()
    source = storage.source_path(root, asset.id, asset.source_ext)
    os.makedirs(os.path.dirname(source), exist_ok=True)
    os.replace(storage.upload_path(root, asset.id), source)
    submit(asset)


def ingest_file(path: str, title: str, owner=None, *, actor=None, wait: bool = False) -> Asset:
    """Load a file from disk (flask media ingest, course packages): like a finished upload.

    Without `wait` the transcode is queued for the worker once the caller commits; with `wait`
    it runs here and now, flushing only, so the caller's transaction decides everything.
    """
    owner = owner or actor
    name, ext = _split_name(path)
    size = os.path.getsize(path)
    asset = Asset(title=(title or name)[:200], owner_id=getattr(owner, "id", None), original_name=name,
                  source_ext=ext, upload_size=size, upload_offset=size, status=AssetStatus.uploading)
    db.session.add(asset)
    db.session.flush()
    _clear_leftovers(asset.id)
    source = storage.source_path(media_root(), asset.id, ext)
    os.makedirs(os.path.dirname(source), exist_ok=True)
    try:
        os.link(path, source)  # same filesystem: no copy of a 1 GB file
    except OSError:
        shutil.copyfile(path, source)
    record(owner, "media.ingest", asset, {"name": name, "size": size})
    submit(asset, enqueue=not wait)
    if wait and asset.status == AssetStatus.queued:
        transcode_now(asset)
    return asset


def submit(asset: Asset, *, enqueue: bool = True) -> Asset:
    """Probe the source: refuse it with a clear message, or queue the transcode."""
    config = current_app.config
    source = storage.source_path(media_root(), asset.id, asset.source_ext)
    try:
        probe = probe_file(source, max_duration=60 * int(get_setting("media_max_minutes")),
                           ffprobe=config["FFPROBE"], ffmpeg=config["FFMPEG"])
    except ProbeError as exc:
        asset.status, asset.error_code, asset.error_detail = AssetStatus.failed, exc.code, exc.detail[-4000:]
        db.session.flush()
        return asset
    asset.kind = probe.kind
    asset.duration, asset.size, asset.fps = probe.duration, probe.size, probe.fps or None
    asset.width, asset.height, asset.rotation = probe.width or None, probe.height or None, probe.rotation
    asset.probe = probe.as_dict()
    asset.screen = probe.has_video and detect_screen_content(source, probe.duration, config["FFMPEG"])
    _queue(asset, enqueue=enqueue)
    return asset


def _queue(asset: Asset, *, enqueue: bool) -> None:
    asset.status = AssetStatus.queued
    asset.version += 1  # a new folder, so published URLs stay immutable
    asset.progress, asset.attempts = 0, 0
    asset.error_code = asset.error_detail = None
    asset.lease_token = asset.lease_expires_at = None
    db.session.flush()
    if enqueue:
        _queue_transcode(asset.id)


def can_retry(asset: Asset) -> bool:
    return asset.status == AssetStatus.failed and asset.error_code not in PROBE_CODES


def retry(asset: Asset, actor) -> None:
    if not can_retry(asset):
        raise UploadError("not_retryable", 409)
    record(actor, "media.retry", asset, {"error": asset.error_code})
    _queue(asset, enqueue=True)


def delete_asset(asset: Asset, actor) -> None:
    uses = uses_of(asset.id)
    if uses:
        raise AssetInUse(uses)
    record(actor, "media.delete", asset, {"title": asset.title})
    asset_id = asset.id
    db.session.delete(asset)
    db.session.flush()
    root = media_root()

    @event.listens_for(db.session(), "after_commit", once=True)
    def _remove_files(_session):
        storage.remove_asset(root, asset_id)


def _plan(asset: Asset) -> ladder.Plan:
    return ladder.plan_ladder(Probe(**asset.probe), screen=asset.screen)


def _owned(asset_id: int, token: str):
    return update(Asset).where(Asset.id == asset_id, Asset.lease_token == token)


def _build(asset: Asset, plan: ladder.Plan, on_progress=None) -> str:
    """Transcode into a private folder and publish it as v<version> with one rename.

    A version already published (by an attempt whose worker died before recording it) is
    adopted as it is: it is complete, since only complete folders are ever renamed.
    """
    root = media_root()
    final = storage.version_dir(root, asset.id, asset.version)
    if os.path.isdir(final):
        return final
    storage.remove_work_dirs(root, asset.id)  # leftovers of dead attempts
    space.require(space.transcode_needs(plan.duration))  # raises space.NoSpace
    work = None
    config = current_app.config
    try:
        work = storage.make_work_dir(root, asset.id)
        ladder.transcode(str(source_file(asset)), work, plan, ffmpeg_bin=config["FFMPEG"],
                         on_progress=on_progress, timeout=timeout_for(plan.duration))
        storage.publish(work, final)
    except storage.AlreadyPublished:
        pass
    except (FFmpegError, ladder.OutputError, OSError) as exc:
        if space.is_no_space(exc):
            raise space.NoSpace() from exc
        raise
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)  # partial outputs go at once
    return final


def _store_renditions(asset_id: int, final: str, plan: ladder.Plan) -> None:
    outputs = ladder.collect_outputs(final, plan)
    db.session.execute(delete(Rendition).where(Rendition.asset_id == asset_id))
    bandwidths = {r.name: r.bandwidth for r in plan.rungs}
    for position, r in enumerate(outputs.renditions):
        db.session.add(Rendition(asset_id=asset_id, position=position, name=r.name, kind=r.kind,
                                 width=r.width, height=r.height, bitrate=r.bitrate,
                                 bandwidth=bandwidths[r.name], bytes=r.bytes, playlist=r.playlist))


def _error_code(exc: Exception) -> str:
    return {"timeout": "timeout", "stalled": "stalled"}.get(getattr(exc, "reason", ""), "transcode_failed")


def transcode_now(asset: Asset) -> Asset:
    """Transcode in this process (no worker, no lease, no commit), retrying like the job."""
    plan = _plan(asset)
    while asset.status in (AssetStatus.queued, AssetStatus.transcoding):
        asset.status, asset.attempts = AssetStatus.transcoding, asset.attempts + 1
        try:
            final = _build(asset, plan)
        except space.NoSpace:
            asset.status, asset.error_code, asset.error_detail = AssetStatus.failed, "no_space", "ENOSPC"
            space.alert("transcode", asset=asset)
            continue
        except (FFmpegError, ladder.OutputError) as exc:
            asset.error_code, asset.error_detail = _error_code(exc), str(exc)[-4000:]
            if asset.attempts > RETRIES:
                asset.status = AssetStatus.failed
            continue
        _store_renditions(asset.id, final, plan)
        asset.status, asset.progress, asset.ready_at = AssetStatus.ready, 100, utcnow()
        asset.error_code = asset.error_detail = None
    db.session.flush()
    storage.remove_old_versions(media_root(), asset.id, keep=asset.version)
    return asset


def run_transcode(asset_id: int, *, lease_seconds: int = LEASE_SECONDS, schedule_retry=None) -> str:
    """The job body. Claims the asset with a lease, transcodes into a private folder, publishes
    it with one rename and records the renditions; returns what happened.

    Safe to run twice or after a killed worker: only one claim wins, and a version already
    published by an earlier attempt is adopted, never published again. It commits as it goes
    (progress must be visible while it runs).
    """
    token = secrets.token_hex(8)
    now = utcnow()
    claimed = db.session.execute(
        update(Asset)
        .where(Asset.id == asset_id,
               or_(Asset.status == AssetStatus.queued,
                   and_(Asset.status == AssetStatus.transcoding, Asset.lease_expires_at < now)))
        .values(status=AssetStatus.transcoding, lease_token=token, progress=0,
                lease_expires_at=now + timedelta(seconds=lease_seconds), attempts=Asset.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    asset = db.session.get(Asset, asset_id)
    plan = _plan(asset)
    last_beat = [0.0]

    def heartbeat(fraction: float) -> None:
        if time.monotonic() - last_beat[0] < 2 and fraction < 1:
            return
        last_beat[0] = time.monotonic()
        alive = db.session.execute(_owned(asset_id, token).values(
            progress=min(99, int(fraction * 100)),
            lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))).rowcount
        db.session.commit()
        if not alive:
            raise LeaseLost(asset_id)

    try:
        final = _build(asset, plan, heartbeat)
    except LeaseLost:
        return "lost"
    except space.NoSpace as exc:
        return _out_of_space_transcoding(asset_id, token, exc)
    except (FFmpegError, ladder.OutputError) as exc:
        return _attempt_failed(asset_id, token, exc, schedule_retry)
    done = db.session.execute(_owned(asset_id, token).values(
        status=AssetStatus.ready, progress=100, lease_token=None, lease_expires_at=None,
        ready_at=utcnow(), error_code=None, error_detail=None)).rowcount
    if not done:
        db.session.rollback()
        return "lost"
    _store_renditions(asset_id, final, plan)
    db.session.commit()
    storage.remove_old_versions(media_root(), asset_id, keep=asset.version)
    return "ready"


def _out_of_space_transcoding(asset_id: int, token: str, exc) -> str:
    """No retry by itself (the disk stays full until someone frees it): failed with a clear
    message, admins alerted; the trainer presses Retry once space is back."""
    db.session.rollback()
    failed = db.session.execute(_owned(asset_id, token).values(
        status=AssetStatus.failed, lease_token=None, lease_expires_at=None, error_code="no_space",
        error_detail="ENOSPC while converting")).rowcount
    if failed:
        space.alert("transcode", asset=db.session.get(Asset, asset_id), exc=exc)
    db.session.commit()
    return "no_space" if failed else "lost"


def _attempt_failed(asset_id: int, token: str, exc: Exception, schedule_retry) -> str:
    code = _error_code(exc)
    asset = db.session.get(Asset, asset_id)
    detail = str(exc)[-4000:]
    if asset.attempts <= RETRIES:
        # Back to the queue: a retry with backoff (30 s, 60 s), like huey's but counted in the
        # row so that attempts lost to killed workers count too.
        db.session.execute(_owned(asset_id, token).values(
            status=AssetStatus.queued, lease_token=None, lease_expires_at=None, error_code=code,
            error_detail=detail))
        if schedule_retry:  # in the same transaction as the row going back to "queued"
            schedule_retry(asset_id, RETRY_DELAY * 2 ** (asset.attempts - 1))
        db.session.commit()
        return "retry"
    db.session.execute(_owned(asset_id, token).values(
        status=AssetStatus.failed, lease_token=None, lease_expires_at=None, error_code=code,
        error_detail=detail))
    db.session.commit()
    return "failed"


def stale_asset_ids(now=None) -> list[int]:
    """Jobs to hand out again: leases that expired (dead worker), queued rows long forgotten."""
    now = now or utcnow()
    return list(db.session.scalars(select(Asset.id).where(or_(
        and_(Asset.status == AssetStatus.transcoding, Asset.lease_expires_at < now),
        and_(Asset.status == AssetStatus.queued, Asset.updated_at < now - QUEUED_GRACE)))))


def recover_stale(now=None) -> list[int]:
    """Re-enqueue stale jobs. A duplicate message is harmless: only one claim wins."""
    from lms.queue import enqueue

    from .tasks import transcode_job

    ids = stale_asset_ids(now)
    if ids:
        db.session.execute(update(Asset).where(Asset.id.in_(ids), Asset.status == AssetStatus.queued)
                           .values(updated_at=utcnow()))
        for asset_id in ids:
            enqueue(transcode_job, asset_id)
        db.session.commit()
    return ids


def source_file(asset: Asset) -> Path:
    return Path(storage.source_path(media_root(), asset.id, asset.source_ext))
