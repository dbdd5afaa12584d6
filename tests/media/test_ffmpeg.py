"""Our ffmpeg runner: progress, failures with stderr, timeout and stall watchdog."""
import os
import time

import pytest

from media.ffmpeg import FFmpegError, run, timeout_for

LAVFI = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1", "-nostats"]


def test_progress_reported_up_to_done(tmp_path):
    seen = []
    run(LAVFI + ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=4",
                 "-c:v", "libx264", "-preset", "ultrafast", "-y", str(tmp_path / "o.mp4")],
        duration=4.0, on_progress=seen.append, progress_interval=0)
    assert seen[-1] == 1.0 and len(seen) >= 2 and seen == sorted(seen)
    assert os.path.getsize(tmp_path / "o.mp4") > 0


def test_failure_keeps_stderr_tail(tmp_path):
    with pytest.raises(FFmpegError) as info:
        run(LAVFI + ["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"], duration=1)
    assert info.value.reason == "failed" and info.value.returncode != 0
    assert "No such file or directory" in info.value.stderr


def test_timeout_kills_ffmpeg(tmp_path):
    started = time.monotonic()
    with pytest.raises(FFmpegError) as info:
        # -re reads at real speed: 30 s of input cannot finish in 1.5 s.
        run(LAVFI + ["-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=30",
                     "-f", "null", "-"], duration=30, timeout=1.5, stall_timeout=30)
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 10


def test_stall_watchdog(tmp_path):
    fifo = str(tmp_path / "stuck.pipe")
    os.mkfifo(fifo)
    # A writer that never writes: ffmpeg blocks reading its input and reports no progress.
    fd = os.open(fifo, os.O_RDWR)
    try:
        with pytest.raises(FFmpegError) as info:
            run(LAVFI + ["-f", "h264", "-i", fifo, "-f", "null", "-"], duration=60,
                stall_timeout=1.0)
    finally:
        os.close(fd)
    assert info.value.reason == "stalled"


def test_timeout_is_proportional_to_duration():
    assert timeout_for(3600) == 4 * 3600
    assert timeout_for(5) == 120
