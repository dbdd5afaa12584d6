"""flask media ingest: the JSON contract, exit codes and the trainer-facing messages."""
import json
import os

from media.models import Asset, AssetStatus

from . import clips


def ingest(runner, path, *extra):
    result = runner.invoke(args=["media", "ingest", path, "--title", "嫁接果树", *extra])
    return result


def test_ingest_wait_json(app, runner, landscape_clip):
    result = ingest(runner, landscape_clip, "--wait", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == "ready" and report["error"] is None
    assert abs(report["duration"] - 13) < 0.1
    assert [r["name"] for r in report["renditions"]] == ["144p", "240p", "360p", "audio"]
    root = str(app.config["MEDIA_ROOT"])
    for rendition in report["renditions"]:
        assert set(rendition) == {"name", "kind", "width", "height", "bitrate", "bytes", "playlist"}
        assert os.path.isfile(os.path.join(root, rendition["playlist"]))
        assert rendition["bytes"] > 0 and rendition["bitrate"] > 0
    assert report["renditions"][2]["width"] == 640 and report["renditions"][3]["kind"] == "audio"
    for key in ("master", "mp4", "poster"):
        assert not os.path.isabs(report[key]) and os.path.isfile(os.path.join(root, report[key]))
    from lms.extensions import db

    asset = db.session.get(Asset, report["asset"])
    assert asset.title == "嫁接果树" and asset.status == AssetStatus.ready and asset.attempts == 1


def test_ingest_without_wait_queues_the_job(runner, short_clip):
    # Tests run the queue immediately, so the queued job has already run when the command ends.
    result = ingest(runner, short_clip)
    assert result.exit_code == 0, result.output
    assert "ready" in result.output


def test_ingest_audio_only(runner, audio_clip):
    report = json.loads(ingest(runner, audio_clip, "--wait", "--json").output)
    assert report["status"] == "ready"
    assert [(r["name"], r["kind"]) for r in report["renditions"]] == [("audio", "audio")]
    assert report["mp4"] is None and report["poster"] is None and report["master"]


def test_rejections_exit_1_with_their_messages(runner, tmp_path, landscape_clip):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "lesson.mp4"
    text.write_text("这不是视频\n" * 100, encoding="utf-8")
    corrupt = clips.corrupt(str(tmp_path / "bad.mp4"), landscape_clip, start=0.6)
    expected = {str(empty): "文件是空的", str(text): "不是视频或录音", corrupt: "文件已损坏"}
    for path, message in expected.items():
        result = ingest(runner, path, "--wait", "--json")
        assert result.exit_code == 1, path
        report = json.loads(result.output)
        assert report["status"] == "failed" and message in report["error"]
        assert report["renditions"] == [] and report["master"] is None


def test_rejected_file_gets_no_job(app, runner, tmp_path, db):
    path = tmp_path / "notes.mp4"
    path.write_text("hello", encoding="utf-8")
    result = ingest(runner, str(path))
    assert result.exit_code == 1
    asset = db.session.scalars(db.select(Asset)).one()
    assert asset.status == AssetStatus.failed and asset.version == 0 and asset.attempts == 0
    assert asset.error_code == "not_media" and "Invalid data" in asset.error_detail
