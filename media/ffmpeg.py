"""Our ffmpeg process runner: `-progress` parsing, a timeout proportional to the
duration, a stall watchdog, and the tail of stderr kept on failure.

ffmpeg-python only builds the command: its own runner hangs on unread pipes and has
no timeouts (DESIGN.md).
"""
from __future__ import annotations

import collections
import ctypes
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable

STDERR_LINES = 40


class FFmpegError(Exception):
    """ffmpeg failed (`reason`: failed, timeout, stalled); `stderr` holds the tail."""

    def __init__(self, reason: str, message: str, stderr: str = "", returncode: int | None = None):
        super().__init__(f"{message}\n{stderr}".strip())
        self.reason = reason
        self.stderr = stderr
        self.returncode = returncode


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # A killed worker must not leave an orphan ffmpeg writing into its temporary folder.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def timeout_for(duration: float, factor: float = 4.0, minimum: float = 120.0) -> float:
    """Wall-clock budget: `factor` × the media's duration, never less than `minimum`."""
    return max(minimum, duration * factor)


def run(args: list[str], *, duration: float = 0.0,
        on_progress: Callable[[float], None] | None = None,
        timeout: float | None = None, stall_timeout: float = 60.0,
        progress_interval: float = 1.0) -> None:
    """Run ffmpeg (its args must include `-progress pipe:1`); raise FFmpegError on failure.

    `on_progress(fraction)` is called at most every `progress_interval` seconds.
    The watchdog kills ffmpeg when its output time has not advanced for `stall_timeout`
    seconds, or when the whole run exceeds `timeout`.
    """
    timeout = timeout if timeout is not None else timeout_for(duration)
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
    lines: queue.Queue[bytes | None] = queue.Queue()

    def pump(stream, sink, end=None):
        with stream:
            for line in iter(stream.readline, b""):
                sink(line)
        if end:
            end()

    readers = [
        threading.Thread(target=pump, args=(proc.stdout, lines.put, lambda: lines.put(None)),
                         daemon=True),
        threading.Thread(target=pump, args=(proc.stderr,
                                            lambda b: tail.append(b.decode("utf-8", "replace").rstrip())),
                         daemon=True),
    ]
    for t in readers:
        t.start()
    started = last_advance = time.monotonic()
    last_report = 0.0
    out_time = 0.0
    reason = None
    try:
        while True:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                line = b""
            now = time.monotonic()
            if line is None:
                break
            key, _, value = line.decode("utf-8", "replace").strip().partition("=")
            # ffmpeg 5.1 writes microseconds in both out_time_us and (misnamed) out_time_ms.
            if key == "out_time_us" and value.lstrip("-").isdigit():
                seconds = int(value) / 1e6
                if seconds > out_time:
                    out_time, last_advance = seconds, now
                    if on_progress and duration and now - last_report >= progress_interval:
                        last_report = now
                        on_progress(min(1.0, out_time / duration))
            if now - started > timeout:
                reason = "timeout"
            elif now - last_advance > stall_timeout:
                reason = "stalled"
            if reason:
                proc.kill()
                break
    finally:
        if proc.poll() is None and reason is None:
            proc.kill()
        proc.wait()
        for t in readers:
            t.join(timeout=5)
    stderr = "\n".join(tail)
    if reason == "timeout":
        raise FFmpegError("timeout", f"ffmpeg ran longer than {timeout:.0f} s", stderr, proc.returncode)
    if reason == "stalled":
        raise FFmpegError("stalled", f"ffmpeg made no progress for {stall_timeout:.0f} s",
                          stderr, proc.returncode)
    if proc.returncode != 0:
        raise FFmpegError("failed", f"ffmpeg exited with {proc.returncode}", stderr, proc.returncode)
    if on_progress:
        on_progress(1.0)
