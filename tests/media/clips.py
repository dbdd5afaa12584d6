"""Small generated test clips (ffmpeg lavfi sources): a few seconds, small sizes."""
from __future__ import annotations

import os
import subprocess


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def make_video(path: str, *, size: str = "640x360", seconds: float = 4, rate: int = 30,
               audio: bool = True, source: str = "testsrc2") -> str:
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}:sample_rate=44100"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-ac", "2", "-shortest"]
    # faststart: the index at the front, as phones write it, so a cut-off copy still probes.
    ffmpeg(*args, "-movflags", "+faststart", path)
    return path


def make_audio(path: str, seconds: float = 4) -> str:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=44100",
           "-c:a", "aac", "-b:a", "96k", path)
    return path


def make_rotated(path: str, src: str, degrees: int = 90) -> str:
    """Landscape pixels with display rotation metadata, as a phone held upright writes them."""
    ffmpeg("-i", src, "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", path)
    return path


def truncate(path: str, src: str, keep: float = 0.6) -> str:
    with open(src, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as out:
        out.write(data[: int(len(data) * keep)])
    return path


def corrupt(path: str, src: str, start: float = 0.55) -> str:
    """Overwrite the back part of the media data with noise; the index stays intact."""
    with open(src, "rb") as fh:
        data = bytearray(fh.read())
    begin = int(len(data) * start)
    noise = os.urandom(len(data) - begin - 16)
    data[begin:begin + len(noise)] = noise
    with open(path, "wb") as out:
        out.write(bytes(data))
    return path
