"""The uploader on a slow uplink (Chrome's network emulation): the bar moves within a chunk, the
chunk size follows the measured speed, the time left is shown."""
from __future__ import annotations

import os

from playwright.sync_api import expect


def test_progress_moves_within_a_chunk_and_chunks_follow_the_speed(live_server, browser_context,
                                                                   make_user, tmp_path):
    path = str(tmp_path / "讲座.mp4")
    with open(path, "wb") as fh:  # not a video: the upload is what is watched here
        fh.write(os.urandom(4 * 1024 * 1024))
    trainer = make_user("trainer")
    page = browser_context.new_page()
    page.goto(f"{live_server}/signin/staff")
    page.fill("input[name=username]", trainer.plain_identifier)
    page.fill("input[name=password]", trainer.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/**")
    page.goto(f"{live_server}/media/upload")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    # About 1.2 Mbit/s up: the first 2 MB chunk takes over ten seconds.
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 100, "downloadThroughput": 1_000_000,
                                                  "uploadThroughput": 150_000})
    sizes = []
    page.on("request", lambda r: sizes.append(len(r.post_data_buffer or b"")) if r.method == "PUT" else None)
    seen = []
    page.expose_function("noteStatus", lambda text: seen.append(text))
    page.evaluate("""() => new MutationObserver(() => window.noteStatus(document.getElementById('upload-status').textContent))
                       .observe(document.getElementById('upload-status'), {childList: true, characterData: true, subtree: true})""")
    page.set_input_files("#file", path)
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-detail")).to_contain_text("大约还需", timeout=60_000)
    expect(page.locator("#upload-detail")).to_contain_text("MB")
    # Percentages between the first chunk's boundaries (0 % and 50 %) came from its bytes as they left.
    within = {t for t in seen if t.rstrip("%").isdigit() and 0 < int(t.rstrip("%")) < 50}
    assert within, seen
    expect(page.locator("#upload-link")).to_be_visible(timeout=90_000)
    # The second chunk is sized for the measured speed: smaller than the first, in 64 KB steps.
    assert sizes[0] == 2 * 1024 * 1024 and 256 * 1024 <= sizes[1] < 2 * 1024 * 1024 and sizes[1] % 65536 == 0
