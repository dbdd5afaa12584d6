"""The ladder on real ffmpeg with small generated clips."""
import json
import os
import re
import subprocess

import pytest

from media.ladder import plan_ladder, transcode
from media.probe import Probe, probe_file

from . import clips


def fake_probe(width, height, *, audio=True, fps=30.0, vfr=False):
    return Probe(duration=10.0, size=1, format_name="mov", has_video=True, has_audio=audio,
                 width=width, height=height, fps=fps, variable_fps=vfr)


def names(plan):
    return [r.name for r in plan.rungs]


def test_plan_never_upscales():
    assert names(plan_ladder(fake_probe(176, 144))) == ["144p", "audio"]
    tiny = plan_ladder(fake_probe(176, 144))
    assert (tiny.rungs[0].width, tiny.rungs[0].height) == (176, 144)
    assert names(plan_ladder(fake_probe(426, 240))) == ["144p", "240p", "audio"]


def test_plan_480p_only_for_screen_content_from_480p_sources():
    assert names(plan_ladder(fake_probe(1280, 720))) == ["144p", "240p", "360p", "audio"]
    assert names(plan_ladder(fake_probe(1280, 720), screen=True)) == \
        ["144p", "240p", "360p", "480p", "audio"]
    assert "480p" not in names(plan_ladder(fake_probe(640, 360), screen=True))


def test_plan_portrait_keeps_orientation():
    plan = plan_ladder(fake_probe(1080, 1920))
    assert [(r.width, r.height) for r in plan.video_rungs] == [(144, 256), (240, 426), (360, 640)]
    assert plan.poster == (360, 640)


def test_plan_caps_frame_rate():
    assert plan_ladder(fake_probe(3840, 2160, fps=60.0)).fps == 30
    assert plan_ladder(fake_probe(1280, 720, fps=50.0)).fps == 25
    assert plan_ladder(fake_probe(1280, 720, fps=29.3, vfr=True)).fps == 29
    assert plan_ladder(fake_probe(1280, 720, fps=30.0)).gop == 60


def test_plan_smaller_than_144p_keeps_source_size():
    plan = plan_ladder(fake_probe(160, 90))
    assert [(r.width, r.height) for r in plan.video_rungs] == [(160, 90)]


def test_plan_silent_video_has_no_audio_rung():
    plan = plan_ladder(fake_probe(640, 360, audio=False))
    assert names(plan) == ["144p", "240p", "360p"]
    assert all(r.audio_bitrate == 0 for r in plan.rungs)


def run_json(*args):
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    return json.loads(out)


def keyframe_times(path):
    data = run_json("ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
                    "-show_entries", "frame=pts_time", "-of", "json", path)
    return [round(float(f["pts_time"]), 3) for f in data["frames"]]


def decodes(path):
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode == 0 and not proc.stderr.strip()


def master_entries(out_dir):
    with open(os.path.join(out_dir, "master.m3u8")) as fh:
        text = fh.read()
    return re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", text)


@pytest.fixture(scope="module")
def landscape_ladder(landscape_clip, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ladder"))
    probe = probe_file(landscape_clip)
    plan = plan_ladder(probe)
    progress = []
    outputs = transcode(landscape_clip, out, plan, on_progress=progress.append)
    return out, plan, outputs, progress


def test_every_output_exists_and_decodes(landscape_ladder):
    out, plan, outputs, progress = landscape_ladder
    assert [r.name for r in outputs.renditions] == ["144p", "240p", "360p", "audio"]
    for rendition in outputs.renditions:
        assert decodes(os.path.join(out, rendition.playlist)), rendition.name
    assert decodes(os.path.join(out, outputs.mp4))
    assert decodes(os.path.join(out, outputs.poster))
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_rung_sizes_and_bitrates_within_caps(landscape_ladder):
    out, plan, outputs, _ = landscape_ladder
    for rung, rendition in zip(plan.rungs, outputs.renditions):
        if rung.kind == "video":
            info = run_json("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height,profile,pix_fmt,r_frame_rate", "-of", "json",
                            os.path.join(out, rendition.playlist))["streams"][0]
            assert (info["width"], info["height"]) == (rung.width, rung.height)
            assert info["profile"] == "Main" and info["pix_fmt"] == "yuv420p"
            assert info["r_frame_rate"] == "30/1"
        # Measured average (with container overhead) within the declared cap + 10 %.
        assert rendition.bitrate <= rung.bandwidth * 1.1, rung.name
    mp4 = run_json("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height,channels",
                   "-of", "json", os.path.join(out, outputs.mp4))["streams"]
    assert {(s["codec_type"], s.get("width"), s.get("channels")) for s in mp4} == \
        {("video", 426, None), ("audio", None, 1)}


def test_mp4_is_faststart(landscape_ladder):
    out, _, outputs, _ = landscape_ladder
    with open(os.path.join(out, outputs.mp4), "rb") as fh:
        head = fh.read(64)
    assert head.find(b"moov") != -1 and head.find(b"moov") < 64


def test_keyframes_aligned_every_2_seconds(landscape_ladder):
    out, plan, outputs, _ = landscape_ladder
    times = [keyframe_times(os.path.join(out, r.playlist)) for r in outputs.renditions
             if r.kind == "video"]
    # Relative to the first frame (B-frame delay shifts presentation times equally).
    start = times[0][0]
    assert [round(t - start, 3) for t in times[0]] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert all(t == times[0] for t in times)


def test_segments_are_6_seconds(landscape_ladder):
    out, _, outputs, _ = landscape_ladder
    for rendition in outputs.renditions:
        with open(os.path.join(out, rendition.playlist)) as fh:
            durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", fh.read())]
        assert len(durations) == 3, rendition.name
        assert all(abs(d - 6) <= 0.1 for d in durations[:-1]), (rendition.name, durations)
        assert abs(sum(durations) - 13) < 0.2


def test_master_playlist_lists_every_rung(landscape_ladder):
    out, plan, _, _ = landscape_ladder
    entries = master_entries(out)
    assert [uri for _, uri in entries] == [f"{r.name}/index.m3u8" for r in plan.rungs]
    for (attrs, _), rung in zip(entries, plan.rungs):
        bandwidth = int(re.search(r"BANDWIDTH=(\d+)", attrs).group(1))
        assert rung.bandwidth <= bandwidth <= rung.bandwidth * 1.1 + 1
        codecs = re.search(r'CODECS="([^"]+)"', attrs).group(1)
        if rung.kind == "video":
            assert codecs.startswith("avc1.4d") and "mp4a.40.2" in codecs
            assert f"RESOLUTION={rung.width}x{rung.height}" in attrs
        else:
            assert codecs == "mp4a.40.2" and "RESOLUTION" not in attrs


def test_loudness_is_normalised(landscape_ladder):
    out, _, outputs, _ = landscape_ladder
    proc = subprocess.run(["ffmpeg", "-nostdin", "-i", os.path.join(out, "audio/index.m3u8"),
                           "-af", "ebur128", "-f", "null", "-"], capture_output=True, text=True,
                          timeout=60)
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)[-1])
    # The source sine is at -18 LUFS-ish (amplitude 1/8); the target is -16.
    assert abs(integrated - -16) < 2.5


def transcode_clip(path, tmp_path, **plan_kwargs):
    probe = probe_file(path)
    plan = plan_ladder(probe, **plan_kwargs)
    out = str(tmp_path / "out")
    os.makedirs(out)
    return out, plan, transcode(path, out, plan)


def test_rotated_portrait_phone_video_stays_portrait(short_clip, tmp_path):
    rotated = clips.make_rotated(str(tmp_path / "rot.mp4"), short_clip)
    out, plan, outputs = transcode_clip(rotated, tmp_path)
    info = run_json("ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                    "-of", "json", os.path.join(out, "144p/index.m3u8"))["streams"][0]
    assert (info["width"], info["height"]) == (144, 256)
    poster = run_json("ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                      "-of", "json", os.path.join(out, outputs.poster))["streams"][0]
    assert poster["height"] > poster["width"]


def test_silent_video(tmp_path):
    path = clips.make_video(str(tmp_path / "silent.mp4"), size="256x144", seconds=3, audio=False)
    out, plan, outputs = transcode_clip(path, tmp_path)
    assert [r.name for r in outputs.renditions] == ["144p"]
    assert decodes(os.path.join(out, "144p/index.m3u8")) and decodes(os.path.join(out, outputs.mp4))
    (attrs, _), = master_entries(out)
    assert 'CODECS="avc1.' in attrs and "mp4a" not in attrs


def test_audio_only_file(audio_clip, tmp_path):
    out, plan, outputs = transcode_clip(audio_clip, tmp_path)
    assert plan.kind == "audio"
    assert [(r.name, r.kind) for r in outputs.renditions] == [("audio", "audio")]
    assert outputs.mp4 is None and outputs.poster is None
    assert decodes(os.path.join(out, "audio/index.m3u8"))


def test_tiny_source_gets_no_rung_above_its_size(tmp_path):
    path = clips.make_video(str(tmp_path / "qcif.mp4"), size="176x144", seconds=2)
    out, plan, outputs = transcode_clip(path, tmp_path)
    assert [(r.name, r.width, r.height) for r in outputs.renditions if r.kind == "video"] == \
        [("144p", 176, 144)]


def test_60fps_source_is_capped_at_30(tmp_path):
    path = clips.make_video(str(tmp_path / "fast.mp4"), size="320x180", seconds=2, rate=60)
    out, plan, outputs = transcode_clip(path, tmp_path)
    info = run_json("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                    "-show_entries", "stream=r_frame_rate,nb_read_frames", "-of", "json",
                    os.path.join(out, "144p/index.m3u8"))["streams"][0]
    assert info["r_frame_rate"] == "30/1" and int(info["nb_read_frames"]) == 60


def test_variable_frame_rate_phone_video(tmp_path):
    # The first second at 30 fps, then every third frame: variable frame rate, as phones write.
    path = str(tmp_path / "vfr.mp4")
    clips.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=5",
                 "-vf", "select='lt(t\\,1)+not(mod(n\\,3))'", "-fps_mode", "vfr",
                 "-c:v", "libx264", "-preset", "ultrafast", path)
    probe = probe_file(path)
    assert probe.variable_fps
    out, plan, outputs = transcode_clip(path, tmp_path)
    info = run_json("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "stream=r_frame_rate,avg_frame_rate", "-of", "json",
                    os.path.join(out, "144p/index.m3u8"))["streams"][0]
    assert info["r_frame_rate"] == info["avg_frame_rate"] == f"{plan.fps.numerator}/1"
    times = keyframe_times(os.path.join(out, "144p/index.m3u8"))
    assert [round(t - times[0], 3) for t in times] == [0.0, 2.0, 4.0]
    assert decodes(os.path.join(out, outputs.mp4))


def test_4k_60fps_camera_source_tops_at_360p(tmp_path):
    # One second of 3840×2160 at 60 fps, as a 4K phone or camera records it (kept short: 4K decodes slowly).
    path = clips.make_video(str(tmp_path / "uhd60.mp4"), size="3840x2160", seconds=1, rate=60, source="smptebars")
    probe = probe_file(path)
    assert (probe.width, probe.height, probe.fps) == (3840, 2160, 60.0)
    out, plan, outputs = transcode_clip(path, tmp_path)
    assert [(r.name, r.kind, r.width, r.height) for r in outputs.renditions] == [
        ("144p", "video", 256, 144), ("240p", "video", 426, 240), ("360p", "video", 640, 360),
        ("audio", "audio", 0, 0)]
    top = max(master_entries(out), key=lambda e: int(re.search(r"BANDWIDTH=(\d+)", e[0]).group(1)))
    assert "RESOLUTION=640x360" in top[0]
    info = run_json("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                    "stream=width,height,r_frame_rate,nb_read_frames", "-of", "json",
                    os.path.join(out, "360p/index.m3u8"))["streams"][0]
    # Landscape stays landscape; 60 fps is halved to 30 (every other frame, smooth cadence).
    assert (info["width"], info["height"], info["r_frame_rate"]) == (640, 360, "30/1")
    assert int(info["nb_read_frames"]) == 30
    assert keyframe_times(os.path.join(out, "360p/index.m3u8"))[0] == keyframe_times(
        os.path.join(out, "144p/index.m3u8"))[0]
    poster = run_json("ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                      "-of", "json", os.path.join(out, outputs.poster))["streams"][0]
    assert poster["width"] > poster["height"]
    assert decodes(os.path.join(out, outputs.mp4))
