"""The shared media volume fills up: an upload that cannot fit is refused before a byte is sent, with
a Chinese message naming the size, and one that runs out of space on the way stops with a clear
message and its partial file is freed at once."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

from tests.production import flows
from tests.production.browser import Browser
from tests.production.conftest import PASSWORD

# The words; the message may say more in between (what was stopped, what was freed).
FULL_MESSAGE = re.compile(r"^服务器存储空间不足.*请联系管理员")


@contextmanager
def filled(cluster, leave_bytes: int):
    """Fill the media volume but ``leave_bytes``, as other trainers' recordings would."""
    stat = os.statvfs(cluster.media)
    free = stat.f_bavail * stat.f_frsize
    filler = cluster.media / "filler.bin"
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(0, free - leave_bytes))
    try:
        yield
    finally:
        filler.unlink()


def _state(cluster):
    assets = cluster.sql("SELECT count(*) FROM media_assets")
    parts = sorted(p.name for p in (cluster.media / "uploads").glob("*.part"))
    return assets, parts


def test_a_full_media_volume_refuses_uploads_in_chinese_and_frees_partial_files(cluster, tmp_path):
    trainer = Browser(cluster.url)
    assert trainer.sign_in_staff("prod-trainer", PASSWORD).status == 302
    trainer.get("/media/upload")
    clip = flows.make_clip(tmp_path / "disk.mp4", seconds=20)
    data = clip.read_bytes()

    # Refused up front: the volume has less room than the recording and its transcode.
    before = _state(cluster)
    with filled(cluster, leave_bytes=len(data) // 2):
        refused = flows.start_upload(trainer, len(data), "磁盘已满", clip.name)
        assert refused.status in (413, 507), refused.text[:300]
        message = refused.json()["message"]
        assert "存储空间不足" in message and re.search(r"\d+(\.\d+)? ?[MG]B", message), message
        assert _state(cluster) == before  # nothing created, no partial file

    # Runs out on the way: another trainer's files fill the disk between two chunks.
    started = flows.start_upload(trainer, len(data), "上传中磁盘满", clip.name)
    assert started.status == 201, started.text[:300]
    asset, url = started.json()["id"], started.json()["url"]
    chunk = 64 * 1024
    assert flows.put_chunk(trainer, url, 0, data[:chunk]).status == 200
    part = cluster.media / "uploads" / f"{asset}.part"
    assert part.exists()
    with filled(cluster, leave_bytes=0):
        answer = flows.put_chunk(trainer, url, chunk, data[chunk:chunk * 8])
        assert answer.status in (413, 507), answer.text[:300]
        assert FULL_MESSAGE.search(answer.json()["message"]), answer.json()
        assert not part.exists()  # freed at once, not after 48 hours
        state = trainer.get(url)
        assert state.status == 200 and state.json()["status"] == "failed"
        assert FULL_MESSAGE.search(state.json()["error"] or ""), state.json()
