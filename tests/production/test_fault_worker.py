"""The worker dies mid-transcode: a restarted worker hands the job out again once the dead one's
lease has lapsed, and finishes it; the trainer sees one ready recording, published once."""
from __future__ import annotations

from tests.production import flows
from tests.production.browser import Browser
from tests.production.cluster import wait_until
from tests.production.conftest import PASSWORD


def test_a_restarted_worker_finishes_the_transcode_of_a_killed_one(cluster, tmp_path):
    trainer = Browser(cluster.url)
    assert trainer.sign_in_staff("prod-trainer", PASSWORD).status == 302
    # Long enough that the kill lands while ffmpeg is still encoding.
    clip = flows.make_clip(tmp_path / "long.mp4", seconds=30)
    asset = flows.upload(trainer, clip, "长视频", chunk=512 * 1024)

    def encoding():
        status = flows.asset_status(trainer, asset)
        assert status["status"] != "ready", "the transcode finished before the worker could be killed"
        return status["status"] == "transcoding"

    wait_until(encoding, 60, "the worker to start transcoding", interval=0.1)
    cluster.kill("worker")  # SIGKILL to the worker and its ffmpeg: the machine is gone
    [(status, token, attempts)] = cluster.sql(
        "SELECT status, lease_token, attempts FROM media_assets WHERE id = %s", asset)
    assert status == "transcoding" and token is not None and attempts == 1
    assert flows.asset_status(trainer, asset)["status"] == "transcoding"  # the trainer sees it waiting
    # The dead worker's lease (2 minutes) lapses: time passes, which the test does not sit through.
    cluster.sql("UPDATE media_assets SET lease_expires_at = now() - interval '1 second' WHERE id = %s", asset)
    cluster.start_worker()  # its start-up sweep hands the job out again
    flows.wait_ready(trainer, asset, cluster, timeout=180)

    [(version, attempts)] = cluster.sql("SELECT version, attempts FROM media_assets WHERE id = %s", asset)
    assert attempts == 2
    folder = cluster.media / "assets" / str(asset)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [f"v{version}"]  # no half-written copy
    names = cluster.sql("SELECT name FROM media_renditions WHERE asset_id = %s", asset)
    assert names and len(names) == len(set(names))  # each rung recorded once
    page = trainer.get(f"/media/{asset}")
    assert page.status == 200 and "长视频" in page.text
