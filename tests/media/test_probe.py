import os

import pytest

from media.probe import ProbeError, detect_screen_content, probe_file

from . import clips


def rejection(path, **kwargs):
    with pytest.raises(ProbeError) as info:
        probe_file(path, **kwargs)
    return info.value


def test_video_facts(landscape_clip):
    probe = probe_file(landscape_clip)
    assert (probe.kind, probe.width, probe.height, probe.fps) == ("video", 640, 360, 30.0)
    assert probe.has_audio and abs(probe.duration - 13) < 0.1
    assert probe.size == os.path.getsize(landscape_clip)


def test_rotated_phone_video_is_portrait(short_clip, tmp_path):
    rotated = clips.make_rotated(str(tmp_path / "rot.mp4"), short_clip)
    probe = probe_file(rotated)
    assert probe.rotation == 90
    assert (probe.width, probe.height) == (180, 320) and probe.portrait


def test_audio_only_file_is_an_audio_asset(audio_clip):
    probe = probe_file(audio_clip)
    assert probe.kind == "audio" and not probe.has_video and probe.duration > 2.5


def test_silent_video(tmp_path):
    path = clips.make_video(str(tmp_path / "silent.mp4"), size="256x144", seconds=2, audio=False)
    probe = probe_file(path)
    assert probe.has_video and not probe.has_audio


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert rejection(str(path)).code == "empty"


def test_text_renamed_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("第一课：如何嫁接果树\n" * 50, encoding="utf-8")
    error = rejection(str(path))
    assert error.code == "not_media"
    assert "Invalid data" in error.detail


def test_photo_renamed_mp4_is_not_a_video(tmp_path):
    path = str(tmp_path / "photo.mp4")
    clips.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", "-f", "image2",
                 "-c:v", "mjpeg", path)
    assert rejection(path).code == "not_media"


def test_truncated_upload(landscape_clip, tmp_path):
    path = clips.truncate(str(tmp_path / "cut.mp4"), landscape_clip, keep=0.6)
    error = rejection(path)
    assert error.code == "truncated"
    assert "decode check at end" in error.detail


def test_truncated_without_index(tmp_path, short_clip):
    # A non-faststart MP4 cut off before its index arrived.
    full = str(tmp_path / "moov_last.mp4")
    clips.ffmpeg("-i", short_clip, "-c", "copy", full)
    path = clips.truncate(str(tmp_path / "cut.mp4"), full, keep=0.5)
    assert rejection(path).code == "truncated"


def test_corrupt_file_is_undecodable(landscape_clip, tmp_path):
    path = clips.corrupt(str(tmp_path / "bad.mp4"), landscape_clip, start=0.6)
    error = rejection(path)
    assert error.code == "undecodable"
    assert "decode check at end" in error.detail


def test_too_long(short_clip):
    error = rejection(short_clip, max_duration=2)
    assert error.code == "too_long"


def test_screen_content_detection(tmp_path, short_clip):
    slides = str(tmp_path / "slides.mp4")
    # Three still "slides", 2 s each.
    clips.ffmpeg("-f", "lavfi", "-i", "color=c=white:size=640x360:rate=30:duration=6",
                 "-vf", "drawbox=x=40:y=40:w=200:h=60:color=black:t=fill:enable='gte(t,2)',"
                        "drawbox=x=40:y=140:w=300:h=60:color=blue:t=fill:enable='gte(t,4)'",
                 "-c:v", "libx264", "-preset", "ultrafast", slides)
    assert detect_screen_content(slides, 6.0)
    assert not detect_screen_content(short_clip, 3.0)
