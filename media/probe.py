"""ffprobe first: facts about an upload, or a rejection a trainer understands.

Every rejection carries a `code` (mapped to a translated message by `media.messages`)
and the technical `detail` (ffprobe/ffmpeg stderr) kept for admins.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from fractions import Fraction

# Image codecs that ffprobe happily reports as a one-frame "video": a photo renamed .mp4.
IMAGE_CODECS = {"mjpeg", "png", "bmp", "gif", "webp", "tiff", "jpeg2000", "jpegls", "pgm", "ppm"}
# The start and end of the file are decoded; 3 s each is enough to meet a damaged index
# or a file cut off by a dropped upload without decoding a whole two-hour lesson.
CHECK_SECONDS = 3
PROBE_TIMEOUT = 60


class ProbeError(Exception):
    """The upload cannot become an asset. `code` names the reason; `detail` is technical."""

    def __init__(self, code: str, detail: str = "", **params):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.params = params


@dataclass
class Probe:
    """What ffprobe says about a file, with rotation already applied to width/height."""

    duration: float
    size: int
    format_name: str
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    rotation: int = 0
    fps: float = 0.0
    variable_fps: bool = False
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_channels: int = 0
    streams: list[dict] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "video" if self.has_video else "audio"

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    def as_dict(self) -> dict:
        return asdict(self)


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(rotate) % 360 if rotate else 0


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_ffprobe(path: str, ffprobe: str = "ffprobe") -> dict:
    proc = subprocess.run(
        [ffprobe, "-v", "error", "-of", "json", "-show_format", "-show_streams", path],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT,
    )
    if proc.returncode != 0:
        detail = _tail(proc.stderr)
        # "moov atom not found": an MP4 whose index never arrived, i.e. a cut-off copy.
        if "moov atom not found" in proc.stderr and os.path.getsize(path) > 4096:
            raise ProbeError("truncated", detail)
        raise ProbeError("not_media", detail)
    return json.loads(proc.stdout or "{}")


def parse(info: dict, size: int) -> Probe:
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    video = [
        s for s in streams
        if s.get("codec_type") == "video"
        and not (s.get("disposition") or {}).get("attached_pic")
        and s.get("codec_name") not in IMAGE_CODECS
    ]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video and not audio:
        pictures = [s for s in streams if s.get("codec_type") == "video"]
        raise ProbeError("not_media" if pictures else "no_streams",
                         f"format={fmt.get('format_name')} streams={[s.get('codec_name') for s in streams]}")
    durations = [_rate(fmt.get("duration"))] + [_rate(s.get("duration")) for s in video + audio]
    duration = max(durations)
    probe = Probe(
        duration=duration, size=size, format_name=fmt.get("format_name", ""),
        has_video=bool(video), has_audio=bool(audio),
        streams=[{k: s.get(k) for k in ("index", "codec_type", "codec_name", "width", "height",
                                         "avg_frame_rate", "r_frame_rate", "channels",
                                         "sample_rate", "bit_rate")} for s in streams],
    )
    if video:
        v = video[0]
        rotation = _rotation(v)
        width, height = int(v.get("width") or 0), int(v.get("height") or 0)
        sar = Fraction(str(v.get("sample_aspect_ratio") or "1:1").replace(":", "/")) \
            if v.get("sample_aspect_ratio") not in (None, "0:1", "N/A") else Fraction(1)
        # Square the pixels so rungs keep the picture's shape (DV and some phones use SAR != 1).
        if sar and sar != 1:
            width = int(round(width * sar))
        if rotation in (90, 270):
            width, height = height, width
        avg, nominal = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))
        probe.width, probe.height, probe.rotation = width, height, rotation
        probe.fps = avg or nominal
        probe.variable_fps = bool(avg and nominal and abs(avg - nominal) > 0.01 * nominal)
        probe.video_codec = v.get("codec_name")
        if not width or not height:
            raise ProbeError("undecodable", f"video stream without size: {v.get('codec_name')}")
    if audio:
        probe.audio_codec = audio[0].get("codec_name")
        probe.audio_channels = int(audio[0].get("channels") or 0)
    return probe


def _decode_check(path: str, probe: Probe, *, at_end: bool, ffmpeg: str) -> None:
    """Decode a few seconds and fail on any decoder error or when nothing decodes."""
    args = [ffmpeg, "-nostdin", "-v", "error"]
    if at_end:
        args += ["-sseof", f"-{CHECK_SECONDS}"]
    args += ["-i", path, "-t", str(CHECK_SECONDS)]
    args += ["-map", "0:v:0"] if probe.has_video else ["-map", "0:a:0"]
    args += ["-f", "framecrc", "-"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    frames = sum(1 for line in proc.stdout.splitlines() if line and not line.startswith("#"))
    where = "end" if at_end else "start"
    if proc.returncode != 0 or proc.stderr.strip() or frames == 0:
        detail = f"decode check at {where}: rc={proc.returncode} frames={frames}\n{_tail(proc.stderr)}"
        # The demuxer says "partial file" when the data stops before the index says it should.
        # Seeking past the end of what arrived decodes nothing and says nothing.
        cut_off = "partial file" in proc.stderr or (frames == 0 and not proc.stderr.strip())
        code = "truncated" if at_end and cut_off else "undecodable"
        raise ProbeError(code, detail)


def probe_file(path: str, *, max_duration: float | None = None,
               ffprobe: str = "ffprobe", ffmpeg: str = "ffmpeg") -> Probe:
    """Probe `path` and decode-check its start and end; raise ProbeError to reject it."""
    size = os.path.getsize(path)
    if size == 0:
        raise ProbeError("empty", "0 bytes")
    probe = parse(run_ffprobe(path, ffprobe), size)
    if probe.duration <= 0:
        raise ProbeError("undecodable", "no duration")
    if max_duration and probe.duration > max_duration:
        raise ProbeError("too_long", f"duration {probe.duration:.1f} s > {max_duration:.0f} s",
                         minutes=int(max_duration // 60))
    _decode_check(path, probe, at_end=False, ffmpeg=ffmpeg)
    _decode_check(path, probe, at_end=True, ffmpeg=ffmpeg)
    return probe


def detect_screen_content(path: str, duration: float, ffmpeg: str = "ffmpeg") -> bool:
    """True for slides or screen capture: most sampled frames repeat the previous one.

    Samples 4 frames/s of up to 12 s from the middle at 160 px; mpdecimate drops the
    near-duplicates. Slides change every few seconds, camera footage every frame. The loop
    filter is skipped: a rough picture is enough, and it makes this decode ~30 % cheaper.
    """
    window = min(12.0, duration)
    start = max(0.0, duration / 2 - window / 2)
    proc = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-skip_loop_filter", "all", "-ss", f"{start:.2f}",
         "-t", f"{window:.2f}", "-i", path,
         "-map", "0:v:0", "-vf", "fps=4,scale=160:-2,mpdecimate", "-f", "framecrc", "-"],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT,
    )
    kept = sum(1 for line in proc.stdout.splitlines() if line and not line.startswith("#"))
    sampled = max(1, int(window * 4))
    return proc.returncode == 0 and kept / sampled < 0.4
