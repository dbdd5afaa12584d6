"""The trainer's resumable uploader in a real browser (Debian's chromium, headless): the link
drops mid-upload and the page is reloaded; choosing the same file again finishes the upload
from where the server stopped, and the recording is converted."""
from __future__ import annotations

import hashlib
import os

from playwright.sync_api import expect

from lms.extensions import db
from media.models import Asset, AssetStatus
from tests.media import clips


def test_upload_survives_a_dropped_link_and_a_reload(live_server, browser_context, make_user, app, tmp_path):
    # ~7 MB: four 2 MB chunks.
    path = str(tmp_path / "嫁接.mp4")
    clips.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=12", "-f", "lavfi", "-i",
                 "sine=frequency=300:duration=12", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "4",
                 "-c:a", "aac", "-shortest", "-movflags", "+faststart", path)
    with open(path, "rb") as fh:
        original = hashlib.sha256(fh.read()).hexdigest()
    assert os.path.getsize(path) > 3 * 2 * 1024 * 1024
    trainer = make_user("trainer", display_name="马师傅")

    page = browser_context.new_page()
    page.goto(f"{live_server}/signin/staff")
    page.fill("input[name=username]", trainer.plain_identifier)
    page.fill("input[name=password]", trainer.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/**")

    # First visit: one chunk gets through, then the link goes down for good.
    puts = []

    def drop_after_first(route):
        if route.request.method == "PUT":
            puts.append(route.request.headers.get("upload-offset"))
            if len(puts) > 1:
                return route.abort("internetdisconnected")
        return route.continue_()

    page.route("**/media/api/uploads/*", drop_after_first)
    page.goto(f"{live_server}/media/upload")
    page.fill("#title", "果树嫁接")
    page.set_input_files("#file", path)
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text("网络断了")
    expect(page.locator("#upload-status")).to_contain_text("秒后重试")  # the countdown to the next try
    assert puts[:2] == ["0", str(2 * 1024 * 1024)]
    db.session.expire_all()
    asset = db.session.scalars(db.select(Asset)).one()
    assert asset.status == AssetStatus.uploading and asset.upload_offset == 2 * 1024 * 1024

    # The link is back; the trainer reloads the page and chooses the same file again.
    page.unroute("**/media/api/uploads/*")
    page.reload()
    page.fill("#title", "果树嫁接")
    page.set_input_files("#file", path)
    offsets = []
    page.on("request", lambda r: offsets.append(r.headers.get("upload-offset")) if r.method == "PUT" else None)
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text("上传完成", timeout=120_000)
    assert offsets[0] == str(2 * 1024 * 1024)  # resumed, not restarted
    assert page.is_visible("#upload-link")

    db.session.expire_all()
    asset = db.session.scalars(db.select(Asset)).one()
    assert asset.status == AssetStatus.ready and asset.title == "果树嫁接" and asset.owner_id == trainer.id
    source = os.path.join(str(app.config["MEDIA_ROOT"]), "assets", str(asset.id), "source.mp4")
    with open(source, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == original

    # The preview plays through hls.js; its segments come from signed links (no session needed).
    fetched = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(f"{live_server}/media/{asset.id}")
    page.evaluate("document.getElementById('preview').play()")
    page.wait_for_function("() => document.getElementById('preview').currentTime > 1", timeout=30000)
    segments = [u for u in fetched if u.endswith(".m4s")]
    assert segments and all("/media/s/" in u and f"/{asset.id}/v{asset.version}/" in u for u in segments)
