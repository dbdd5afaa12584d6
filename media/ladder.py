"""The rung ladder (DESIGN.md "Video ladder"): which rungs a source gets, and the one
ffmpeg command that makes them all from one decode.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction

import ffmpeg as ffmpeg_python

from .probe import Probe

# 6 s segments of 2 s GOPs: three switch points per segment for hls.js on a weak link.
SEGMENT_SECONDS = 6
KEYFRAME_SECONDS = 2
MAX_FPS = 30
# Single-pass EBU R128 target; -16 LUFS suits small speakers in a noisy service centre.
LOUDNORM = {"I": -16, "TP": -1.5, "LRA": 11}
AUDIO_RATE = 48000
POSTER_NAME = "poster.jpg"
# JPEG quantiser of the poster (2 best … 31 worst). The poster loads with the lesson page and
# shares a 400 kbps link with the first segment; 5 is about a quarter smaller than 3 and still clean.
POSTER_QUALITY = 5
MP4_NAME = "video.mp4"
MASTER_NAME = "master.m3u8"
PLAYLIST_NAME = "index.m3u8"
# veryfast: on 2 cores the 3-rung camera ladder of 720p must run ≥ 2× realtime
# (bench/transcode.py); slower presets gain little at these capped rates.
DEFAULT_PRESET = "veryfast"


@dataclass(frozen=True)
class RungSpec:
    name: str
    height: int
    crf: int
    maxrate: int
    audio_bitrate: int
    screen_only: bool = False


VIDEO_LADDER = (
    RungSpec("144p", 144, 30, 110_000, 32_000),
    RungSpec("240p", 240, 29, 220_000, 48_000),
    RungSpec("360p", 360, 28, 420_000, 48_000),
    # Board and screen text needs 480p to be legible; camera footage gains little from it.
    RungSpec("480p", 480, 27, 750_000, 48_000, screen_only=True),
)
AUDIO_RUNG = RungSpec("audio", 0, 0, 0, 32_000)
MP4_RUNG = "240p"


@dataclass(frozen=True)
class Rung:
    name: str
    kind: str  # "video" | "audio"
    width: int
    height: int
    crf: int
    maxrate: int
    audio_bitrate: int

    @property
    def bufsize(self) -> int:
        # A 2 s VBV buffer (2 × maxrate) keeps each 2 s GOP under the cap a weak link can carry.
        return 2 * self.maxrate

    @property
    def bandwidth(self) -> int:
        return self.maxrate + self.audio_bitrate


@dataclass
class Plan:
    kind: str  # "video" | "audio"
    duration: float
    rungs: list[Rung]
    has_audio: bool
    fps: Fraction | None = None
    screen: bool = False
    mp4: str | None = None
    poster: tuple[int, int] | None = None
    poster_at: float = 0.0
    preset: str = DEFAULT_PRESET

    @property
    def video_rungs(self) -> list[Rung]:
        return [r for r in self.rungs if r.kind == "video"]

    @property
    def gop(self) -> int:
        return int(round(self.fps * KEYFRAME_SECONDS)) if self.fps else 0


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def rung_size(short_side: int, width: int, height: int) -> tuple[int, int]:
    """Size of a rung whose short side is `short_side`, keeping the source's shape."""
    if width >= height:
        return _even(short_side * width / height), short_side
    return short_side, _even(short_side * height / width)


def choose_fps(probe: Probe) -> Fraction:
    fps = Fraction(probe.fps or MAX_FPS).limit_denominator(1001)
    if probe.variable_fps:
        # Phones record VFR; a constant rate keeps 2 s GOPs exact and segments 6 s long.
        fps = Fraction(min(MAX_FPS, max(1, round(float(fps)))))
    # Halve 50/60 fps (and 120) rather than resample to 30: cadence stays smooth.
    while fps > MAX_FPS:
        fps /= 2
    return fps


def plan_ladder(probe: Probe, *, screen: bool = False, preset: str = DEFAULT_PRESET) -> Plan:
    """Choose rungs: never above the source's size, 480p only for screen content."""
    audio_rung = Rung(AUDIO_RUNG.name, "audio", 0, 0, 0, 0, AUDIO_RUNG.audio_bitrate)
    if not probe.has_video:
        return Plan("audio", probe.duration, [audio_rung], True, preset=preset)
    short = min(probe.width, probe.height)
    specs = [s for s in VIDEO_LADDER if s.height <= short and (screen or not s.screen_only)]
    rungs = []
    for spec in specs:
        width, height = rung_size(spec.height, probe.width, probe.height)
        rungs.append(Rung(spec.name, "video", width, height, spec.crf, spec.maxrate,
                          spec.audio_bitrate if probe.has_audio else 0))
    if not rungs:
        # Smaller than 144p: one rung at the source's own (even) size, with 144p's caps.
        spec = VIDEO_LADDER[0]
        rungs.append(Rung(spec.name, "video", _even(probe.width), _even(probe.height), spec.crf,
                          spec.maxrate, spec.audio_bitrate if probe.has_audio else 0))
    mp4 = MP4_RUNG if any(r.name == MP4_RUNG for r in rungs) else rungs[-1].name
    top = rungs[-1]
    if probe.has_audio:
        rungs.append(audio_rung)
    return Plan(
        "video", probe.duration, rungs, probe.has_audio, fps=choose_fps(probe), screen=screen,
        mp4=mp4, poster=(top.width, top.height),
        # 10 % in, at most 10 s: past a black lead-in, still near the title.
        poster_at=round(min(10.0, probe.duration * 0.1), 3), preset=preset,
    )


def _tee_escape(value: str) -> str:
    """Escape a tee slave option value: once for the option list, once for the slave list."""
    inner = re.sub(r"([\\:'])", r"\\\1", value)
    return re.sub(r"([\\'\[\]|])", r"\\\1", inner)


def _tee_slave(options: dict, target: str) -> str:
    opts = ":".join(f"{k}={_tee_escape(str(v))}" for k, v in options.items())
    return f"[{opts}]{_tee_escape(target)}"


def build_command(src: str, out_dir: str, plan: Plan, ffmpeg_bin: str = "ffmpeg") -> list[str]:
    """One ffmpeg process: one decode split to every rung, HLS + 240p MP4 via tee, poster."""
    source = ffmpeg_python.input(src)
    video_rungs = plan.video_rungs
    streams, opts = [], {}
    video_branches = []
    poster = None
    if video_rungs:
        decoded = source["v:0"].filter("fps", fps=str(plan.fps))
        split = decoded.filter_multi_output("split")
        for i, rung in enumerate(video_rungs):
            video_branches.append(
                split[i].filter("scale", rung.width, rung.height).filter("format", "yuv420p")
                .filter("setsar", 1))
        pw, ph = plan.poster
        poster = (split[len(video_rungs)].filter("select", f"gte(t,{plan.poster_at})")
                  .filter("trim", end_frame=1).filter("scale", pw, ph).filter("setsar", 1))
    audio_branches = []
    if plan.has_audio:
        audio = (source["a:0"].filter("aformat", channel_layouts="mono")
                 .filter("loudnorm", **LOUDNORM).filter("aresample", AUDIO_RATE))
        n_audio = len(video_rungs) + 1
        asplit = audio.filter_multi_output("asplit")
        audio_branches = [asplit[i] for i in range(n_audio)]

    stream_map = []
    for i, rung in enumerate(video_rungs):
        streams.append(video_branches[i])
        opts[f"crf:v:{i}"] = rung.crf
        opts[f"maxrate:v:{i}"] = rung.maxrate
        opts[f"bufsize:v:{i}"] = rung.bufsize
        if plan.has_audio:
            streams.append(audio_branches[i])
            opts[f"b:a:{i}"] = rung.audio_bitrate
            stream_map.append(f"v:{i},a:{i},name:{rung.name}")
        else:
            stream_map.append(f"v:{i},name:{rung.name}")
    if plan.has_audio:
        j = len(video_rungs)
        streams.append(audio_branches[j])
        opts[f"b:a:{j}"] = AUDIO_RUNG.audio_bitrate
        stream_map.append(f"a:{j},name:{AUDIO_RUNG.name}")

    if video_rungs:
        opts.update({
            "c:v": "libx264", "preset": plan.preset, "profile:v": "main",
            "g": plan.gop, "keyint_min": plan.gop, "sc_threshold": 0,
            # Time-based forced keyframes keep every rung's IDRs on the same 2 s grid.
            "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
        })
        if plan.screen:
            opts["tune:v"] = "stillimage"
    if plan.has_audio:
        opts.update({"c:a": "aac", "ac": 1})
    # tee needs global headers set by hand (it cannot ask its slaves).
    opts["flags"] = "+global_header"

    hls = _tee_slave({
        "f": "hls", "hls_time": SEGMENT_SECONDS, "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4", "hls_fmp4_init_filename": "init.mp4",
        "hls_flags": "independent_segments",
        "hls_segment_filename": os.path.join(out_dir, "%v", "seg_%05d.m4s"),
        "master_pl_name": MASTER_NAME, "var_stream_map": " ".join(stream_map),
    }, os.path.join(out_dir, "%v", PLAYLIST_NAME))
    slaves = [hls]
    if video_rungs:
        k = [r.name for r in video_rungs].index(plan.mp4)
        select = f"v:{k},a:{k}" if plan.has_audio else f"v:{k}"
        slaves.append(_tee_slave({"f": "mp4", "movflags": "+faststart", "select": select},
                                 os.path.join(out_dir, MP4_NAME)))
    outputs = [ffmpeg_python.output(*streams, "|".join(slaves), format="tee", **opts)]
    if poster is not None:
        outputs.append(ffmpeg_python.output(poster, os.path.join(out_dir, POSTER_NAME),
                                            vframes=1, update=1, **{"q:v": POSTER_QUALITY}))
    cmd = ffmpeg_python.merge_outputs(*outputs).global_args(
        "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1", "-nostats")
    return cmd.compile(cmd=ffmpeg_bin, overwrite_output=True)


@dataclass
class Rendition:
    name: str
    kind: str
    width: int
    height: int
    bitrate: int  # measured average, bits/s
    bytes: int
    playlist: str  # relative to the version folder


@dataclass
class Outputs:
    renditions: list[Rendition]
    master: str
    mp4: str | None
    poster: str | None


class OutputError(Exception):
    pass


def collect_outputs(out_dir: str, plan: Plan) -> Outputs:
    """Check every expected file exists and is complete; measure sizes and bitrates."""
    if not os.path.isfile(os.path.join(out_dir, MASTER_NAME)):
        raise OutputError("master playlist missing")
    renditions = []
    for rung in plan.rungs:
        folder = os.path.join(out_dir, rung.name)
        playlist = os.path.join(folder, PLAYLIST_NAME)
        if not os.path.isfile(playlist):
            raise OutputError(f"{rung.name}: playlist missing")
        with open(playlist, encoding="utf-8") as fh:
            if "#EXT-X-ENDLIST" not in fh.read():
                raise OutputError(f"{rung.name}: playlist not finished")
        size = sum(e.stat().st_size for e in os.scandir(folder) if e.is_file())
        renditions.append(Rendition(
            rung.name, rung.kind, rung.width, rung.height,
            int(size * 8 / plan.duration) if plan.duration else 0, size,
            f"{rung.name}/{PLAYLIST_NAME}"))
    mp4 = poster = None
    if plan.video_rungs:
        for name in (MP4_NAME, POSTER_NAME):
            path = os.path.join(out_dir, name)
            if not os.path.isfile(path) or os.path.getsize(path) == 0:
                raise OutputError(f"{name} missing")
        mp4, poster = MP4_NAME, POSTER_NAME
    return Outputs(renditions, MASTER_NAME, mp4, poster)


def transcode(src: str, out_dir: str, plan: Plan, *, ffmpeg_bin: str = "ffmpeg",
              on_progress=None, timeout: float | None = None,
              stall_timeout: float = 60.0) -> Outputs:
    """Build the ladder of `src` into `out_dir` (a private work folder) and check it."""
    from . import ffmpeg as runner

    runner.run(build_command(src, out_dir, plan, ffmpeg_bin), duration=plan.duration,
               on_progress=on_progress, timeout=timeout, stall_timeout=stall_timeout)
    return collect_outputs(out_dir, plan)
