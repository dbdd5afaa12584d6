"""Media routes: trainer pages, the resumable upload API, and streaming.

Upload protocol (JSON, CSRF header token):
  POST /media/api/uploads {"title", "filename", "size"}      → 201 {"id", "offset", "chunk_size", "url"}
                                                               413 when size > the upload limit
  GET  /media/api/uploads/<id>                               → {"offset", "size", "status"}
  PUT  /media/api/uploads/<id>  body = bytes, headers Upload-Offset: N, Chunk-SHA256: hex
                                                             → {"offset", "status"}; 409 {"offset"} when
                                                               N is not what the server holds, 422 on a
                                                               checksum mismatch, 413 past the size
The client resumes after a dropped link or a reload by asking for the offset and sending the rest.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import time

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.access import role_required
from lms.extensions import db, limiter
from lms.inputs import db_id, db_int, json_object

from . import access, links, queries, services, storage
from .models import Asset

bp = Blueprint("media", __name__, url_prefix="/media", template_folder="templates",
               static_folder="static", static_url_path="/static")

STAFF = ("trainer", "admin")
CHUNK_SIZE = 2 * 1024 * 1024  # 2 MB: a few seconds each on a 3G uplink
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
UPLOAD_ERRORS = {
    "too_large": _l("The file is larger than the upload limit of %(mb)s MB."),
    "checksum": _l("A piece of the file arrived damaged; it is sent again."),
    "offset": _l("The upload continues from where the server stopped."),
    "not_uploading": _l("This upload is already complete."),
    "chunk_too_large": _l("A piece of the file is too large."),
    "bad_size": _l("The file size is missing or wrong."),
    "not_retryable": _l("This recording cannot be converted again; please upload a good copy."),
}


def _own_asset(asset_id: int) -> Asset:
    asset = db.get_or_404(Asset, asset_id)
    if asset.owner_id != current_user.id and not current_user.has_role("admin"):
        abort(404)
    return asset


def _upload_error(exc: services.UploadError):
    message = exc.message or str(UPLOAD_ERRORS.get(exc.code, UPLOAD_ERRORS["bad_size"])) % {
        "mb": services.max_upload_bytes() // 2**20}
    body = {"error": exc.code, "message": message}
    if exc.offset is not None:
        body["offset"] = exc.offset
    if exc.code == "no_space":
        # The failed upload, its alert for admins and their audit entries are kept (an error
        # response would otherwise roll them back); the uploader must not retry.
        db.session.commit()
        body["retry"] = False
    return jsonify(body), exc.status


@bp.route("/")
@role_required(*STAFF)
def my_media():
    assets = db.session.scalars(queries.assets_for(current_user).limit(200)).all()
    return render_template("media/list.html", assets=assets, can_retry=services.can_retry)


@bp.route("/upload")
@role_required(*STAFF)
def upload():
    return render_template("media/upload.html", chunk_size=CHUNK_SIZE,
                           max_bytes=services.max_upload_bytes())


@bp.route("/<int:asset_id>")
@role_required(*STAFF)
def show(asset_id):
    asset = _own_asset(asset_id)
    return render_template("media/show.html", asset=asset, playback=queries.playback(asset.id),
                           can_retry=services.can_retry(asset), uses=services.uses_of(asset.id))


@bp.route("/<int:asset_id>/retry", methods=["POST"])
@role_required(*STAFF)
def retry(asset_id):
    asset = _own_asset(asset_id)
    try:
        services.retry(asset, current_user)
    except services.UploadError:
        flash(str(UPLOAD_ERRORS["not_retryable"]), "error")
    else:
        flash(_("Converting again."), "success")
    return redirect(url_for("media.show", asset_id=asset.id))


@bp.route("/<int:asset_id>/delete", methods=["POST"])
@role_required(*STAFF)
def delete(asset_id):
    asset = _own_asset(asset_id)
    try:
        services.delete_asset(asset, current_user)
    except services.AssetInUse as exc:
        flash(_("This recording is used by %(uses)s and cannot be deleted.", uses="、".join(exc.uses)),
              "error")
        return redirect(url_for("media.show", asset_id=asset_id)), 303
    flash(_("Recording deleted."), "success")
    return redirect(url_for("media.my_media"))


@bp.route("/api/status")
@role_required(*STAFF)
def status():
    ids = [i for i in map(db_id, request.args.get("ids", "").split(",")[:200]) if i is not None]
    assets = db.session.scalars(queries.assets_for(current_user).where(Asset.id.in_(ids))).all()
    return jsonify({"assets": [queries.status_of(a) for a in assets]})


@bp.route("/api/uploads", methods=["POST"])
@role_required(*STAFF)
def start_upload():
    data = json_object()
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool):  # true is not 1
        return _upload_error(services.UploadError("bad_size", 400))
    try:
        asset = services.create_upload(current_user, str(data.get("title") or ""),
                                       str(data.get("filename") or ""), size)
    except services.UploadError as exc:
        return _upload_error(exc)
    return jsonify({"id": asset.id, "offset": 0, "chunk_size": CHUNK_SIZE, "status": asset.status.value,
                    "url": url_for("media.upload_chunk", asset_id=asset.id),
                    "page": url_for("media.show", asset_id=asset.id)}), 201


@bp.route("/api/uploads/<int:asset_id>", methods=["GET"])
@role_required(*STAFF)
def upload_state(asset_id):
    asset = _own_asset(asset_id)
    return jsonify({"id": asset.id, "offset": services.received_bytes(asset), "size": asset.upload_size,
                    "status": asset.status.value, "error": asset.error_message})


@bp.route("/api/uploads/<int:asset_id>", methods=["PUT"])
@role_required(*STAFF)
def upload_chunk(asset_id):
    asset = _own_asset(asset_id)
    offset = db_int(request.headers.get("Upload-Offset", ""))
    if offset is None:
        return _upload_error(services.UploadError("bad_size", 400))
    if (request.content_length or 0) > services.MAX_CHUNK_BYTES:
        return _upload_error(services.UploadError("chunk_too_large", 413))
    try:
        services.append_chunk(asset, offset, request.get_data(cache=False),
                              request.headers.get("Chunk-SHA256", ""), actor=current_user)
    except services.UploadError as exc:
        return _upload_error(exc)
    return jsonify({"id": asset.id, "offset": asset.upload_offset, "status": asset.status.value,
                    "error": asset.error_message})


@bp.route("/files/<int:asset_id>/v<int:version>/<path:name>")
@limiter.exempt
def file(asset_id, version, name):
    """A published file, for whoever may watch the asset (``media.access.may_watch``: its owner,
    admins, people who may open a page that uses it); anyone else, signed in or not, gets 404.

    Variant playlists are rewritten so their init and segment URIs are signed links for that rung
    (``media.links``): the segments, fetched every few seconds, are then checked by nginx (or by
    the app's WSGI fast path) without a session or the rest of the app. The files answered here
    are cached privately (``private``): a shared proxy must not hand them to someone else.
    """
    asset = db.session.get(Asset, asset_id)
    if asset is None or not access.may_watch(current_user, asset):
        abort(404)
    relative = storage.version_relpath(asset_id, version)
    path = storage.published_file(current_app.config["MEDIA_ROOT"], asset_id, version, name)
    if path is None:
        abort(404)
    if name.endswith(".m3u8") and "/" in name:
        try:
            return _without_session(_variant_playlist(path, asset_id, version, name))
        except ValueError:  # not a rung folder of ours, or a playlist naming other files
            abort(404)
    accel = current_app.config.get("MEDIA_ACCEL")
    if accel:
        response = current_app.response_class()
        response.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + relative + "/" + name
        response.headers["Content-Type"] = _mimetype(name)
    else:
        response = send_file(path, mimetype=_mimetype(name), conditional=True, etag=True,
                             max_age=31536000)
    response.headers["Cache-Control"] = PRIVATE_IMMUTABLE
    return _without_session(response)


ALERT_KINDS = {
    "upload_refused": _l("An upload was refused: not enough space"),
    "upload": _l("The disk filled up during an upload"),
    "transcode": _l("The disk filled up during a conversion"),
}


@bp.route("/alerts")
@role_required("admin")
def alerts():
    from . import space

    return render_template("media/alerts.html", alerts=space.open_alerts(), disk=space.disk_status(),
                           kinds={k: str(v) for k, v in ALERT_KINDS.items()}, size=space.human_size)


@bp.route("/alerts/resolve", methods=["POST"])
@role_required("admin")
def resolve_alerts():
    from . import space

    ids = [i for i in map(db_id, request.form.getlist("alert")[:500]) if i is not None]
    if space.resolve_alerts(current_user, ids):
        flash(_("Marked as handled."), "success")
    return redirect(url_for("media.alerts"), 303)


def _variant_playlist(path: str, asset_id: int, version: int, name: str):
    """The rung's playlist with signed segment links. Its links change once a day, so it is
    cached privately only while they stay valid for at least another day."""
    expires = links.expiry()
    rung = name.rsplit("/", 1)[0]
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    body = links.rewrite_playlist(text, links.signed_prefix(asset_id, version, rung, expires))
    response = current_app.response_class(body, mimetype="application/vnd.apple.mpegurl")
    response.set_etag(hashlib.md5(body.encode()).hexdigest())
    # The links change at the start of each day: so does the playlist (If-Modified-Since works).
    response.last_modified = max(os.stat(path).st_mtime, expires - 2 * links.PERIOD)
    response.headers["Cache-Control"] = f"private, max-age={max(0, expires - links.PERIOD - int(time.time()))}"
    return response.make_conditional(request)


def _without_session(response):
    # Shared by every terminal behind a village proxy (and by nginx's cache): once access is
    # checked, the response carries no per-user Vary: Cookie or Set-Cookie.
    request_ctx._session = current_app.session_interface.make_null_session(current_app)
    return response


def _mimetype(name: str) -> str:
    if name.endswith(".m3u8"):
        return "application/vnd.apple.mpegurl"
    if name.endswith(".m4s"):
        return "video/iso.segment"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
