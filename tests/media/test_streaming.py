"""Streaming routes: Range, ETag, Last-Modified, immutable versioned URLs, access, X-Accel."""
import os

import pytest

from media.queries import playback
from tests.media.http import fetch, playlist_uris


@pytest.fixture
def viewer_client(client, make_user, login):
    """Someone who may watch every asset (an admin); who else may is tests/security's matter."""
    login(client, make_user("admin"))
    return client


def test_playback_for_other_areas(make_ready_asset):
    asset = make_ready_asset()
    info = playback(asset.id)
    assert info["status"] == "ready" and info["kind"] == "video" and abs(info["duration"] - 4) < 0.1
    assert info["master"] == f"/media/files/{asset.id}/v1/master.m3u8"
    assert [(v["name"], v["kind"]) for v in info["variants"]] == [("144p", "video"), ("audio", "audio")]
    assert info["variants"][0]["bandwidth"] == 142000 and info["variants"][0]["width"] == 256
    assert info["audio"].endswith("/audio/index.m3u8")
    assert info["mp4"].endswith("/video.mp4") and info["poster"].endswith("/poster.jpg")
    audio = playback(make_ready_asset(kind="audio").id)
    assert audio["kind"] == "audio" and audio["mp4"] is None and audio["poster"] is None
    assert playback(10 ** 6) is None


def test_every_url_serves_with_immutable_caching(viewer_client, make_ready_asset):
    info = playback(make_ready_asset().id)
    for url in [info["master"], info["mp4"], info["poster"]]:
        response = fetch(viewer_client, url)
        assert response.status_code == 200, url
        # Checked per person: a shared proxy must not hand them to someone else.
        assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert response.headers["ETag"] and response.headers["Last-Modified"]
        assert "Cookie" not in response.headers.get("Vary", "") and "Set-Cookie" not in response.headers
    assert fetch(viewer_client, info["master"]).mimetype == "application/vnd.apple.mpegurl"
    assert fetch(viewer_client, info["mp4"]).mimetype == "video/mp4"
    # Variant playlists carry signed links that change once a day: cached privately, while the
    # links stay valid for at least another day; their segments are immutable.
    for url in [info["audio"]] + [v["url"] for v in info["variants"]]:
        response = fetch(viewer_client, url)
        assert response.status_code == 200 and response.mimetype == "application/vnd.apple.mpegurl"
        max_age = int(response.headers["Cache-Control"].removeprefix("private, max-age="))
        assert 0 <= max_age <= 86400
        assert response.headers["ETag"] and response.headers["Last-Modified"] and "Set-Cookie" not in response.headers
        for segment in playlist_uris(response.data):
            got = fetch(viewer_client, segment)
            assert got.status_code == 200 and got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert got.headers["ETag"] and got.headers["Last-Modified"] and "Set-Cookie" not in got.headers


def test_range_requests_return_the_exact_bytes(app, viewer_client, make_ready_asset):
    asset = make_ready_asset()
    url = playback(asset.id)["mp4"]
    path = os.path.join(str(app.config["MEDIA_ROOT"]), f"assets/{asset.id}/v1/video.mp4")
    with open(path, "rb") as fh:
        data = fh.read()
    part = fetch(viewer_client, url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.data == data[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    tail = fetch(viewer_client, url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.data == data[-500:]
    bad = fetch(viewer_client, url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416


def test_etag_and_last_modified_revalidate(viewer_client, make_ready_asset):
    url = playback(make_ready_asset().id)["variants"][0]["url"]
    first = fetch(viewer_client, url)
    assert fetch(viewer_client, url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert fetch(viewer_client, url, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304


def test_anonymous_gets_404(client, make_ready_asset):
    url = playback(make_ready_asset().id)["master"]
    assert fetch(client, url, headers={"Accept": "application/json"}).status_code == 404
    assert fetch(client, url).status_code == 404


@pytest.mark.parametrize("path", [
    "/media/files/{id}/v1/../../../secret_key", "/media/files/{id}/v1/%2e%2e/%2e%2e/source.mp4",
    "/media/files/{id}/v1/..%2fsource.mp4", "/media/files/{id}/v1//etc/passwd",
    "/media/files/{id}/v2/master.m3u8", "/media/files/{id}/v1/nothing.m4s",
    "/media/files/{id}/v1/144p", "/media/files/{id}/v1/%00.m3u8",
])
def test_path_traversal_and_unknown_files_are_404(viewer_client, make_ready_asset, path):
    asset = make_ready_asset()
    assert fetch(viewer_client, path.format(id=asset.id), follow_redirects=True).status_code == 404


def test_x_accel_redirect_behind_nginx(app, viewer_client, make_ready_asset):
    asset = make_ready_asset()
    info = playback(asset.id)
    app.config["MEDIA_ACCEL"] = "/_media/"
    try:
        master = fetch(viewer_client, info["master"])
        variant = fetch(viewer_client, info["variants"][0]["url"])
        segment = fetch(viewer_client, playlist_uris(variant.data)[-1])
    finally:
        app.config["MEDIA_ACCEL"] = None
    assert master.status_code == 200 and master.data == b""
    assert master.headers["X-Accel-Redirect"] == f"/_media/assets/{asset.id}/v1/master.m3u8"
    assert master.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert master.mimetype == "application/vnd.apple.mpegurl"
    # The variant playlist is written by the app (its links are signed); segments go to nginx.
    assert variant.status_code == 200 and b"#EXTINF" in variant.data and "X-Accel-Redirect" not in variant.headers
    assert segment.status_code == 200 and segment.data == b""
    assert segment.headers["X-Accel-Redirect"].startswith(f"/_media/assets/{asset.id}/v1/144p/seg_")
    assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert segment.mimetype == "video/iso.segment"
