"""The load generator of bench/progress.py: signed-in learners on keep-alive connections.

One process of raw sockets with pre-built requests, so its own CPU stays small (the bench reports
it). Kept apart from the bench itself so each file stays readable.
"""
from __future__ import annotations

import asyncio
import random
import re
import selectors
import socket
import time
from urllib.parse import urlencode

PIN = "135790"


class Conn:
    """A minimal HTTP/1.1 client over one connection, enough for this benchmark."""

    def __init__(self, port):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=None):
        for attempt in range(3):
            try:
                return await self._request(method, path, body, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.reader = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    async def _request(self, method, path, body, headers):
        if self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        hdrs = {"Host": f"127.0.0.1:{self.port}", "Content-Length": str(len(body)), "Connection": "keep-alive"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                k, _, v = value.split(";")[0].partition("=")
                self.cookies[k] = v
            elif name == "connection" and value.lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.reader = None
        return status, data


async def sign_in(port, i, lesson_id):
    conn = Conn(port)
    status, page = await conn.request("GET", "/signin?manual=1")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    form = urlencode({"csrf_token": token.group(1).decode(), "identifier": f"1390000{i:04d}", "pin": PIN}).encode()
    status, _ = await conn.request("POST", "/signin?manual=1", form,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, status
    status, page = await conn.request("GET", f"/learn/lessons/{lesson_id}")
    assert status == 200, status
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    return conn, csrf



class Learner:
    """One signed-in learner on its own keep-alive connection, as a browser tab would hold it."""

    __slots__ = ("i", "head", "sock", "seq", "pos", "inflight", "buf", "acked", "last")

    def __init__(self, i, cookies, csrf, port):
        self.i = i
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # Everything but the body length is fixed: build it once.
        self.head = (f"POST /api/v1/progress HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                     f"X-CSRFToken: {csrf}\r\nContent-Type: application/json\r\n").encode()
        self.sock = None
        self.seq = 0
        self.pos = 0.0  # media seconds played so far
        self.inflight = None
        self.buf = b""
        self.acked: dict[int, tuple[float, float]] = {}  # seq -> the interval it claimed
        self.last = (b"", 0, (0.0, 0.0))


class Drive:
    """The load. Each beat claims the ``period`` seconds of wall time since the learner's previous
    one (the real 15 s rhythm time-scaled by 15 / period, so the server's pacing clock is satisfied
    honestly). Open loop: beats are due on the clock, not on the previous answer; a learner waits
    only for its own unanswered beat (one connection, no pipelining), and latency counts from the
    due time, so queueing is not hidden. A share of beats is sent again 50 ms later as a client
    retry would be (same seq, same body)."""

    def __init__(self, port, sessions, lesson_id, period, retry_share, seed=7):
        self.port, self.lesson_id, self.period, self.retry_share = port, lesson_id, period, retry_share
        self.rng = random.Random(seed)
        self.sel = selectors.DefaultSelector()
        self.learners = [Learner(i, cookies, csrf, port) for i, (cookies, csrf) in enumerate(sessions)]
        self.phase = [self.rng.random() * period for _ in self.learners]
        self.reconnects = 0
        self.samples: list = []  # (due wall time, latency s, status)
        self.errors: list = []

    def run(self, dues):
        """Send the beats ``dues`` = [(perf_counter time, learner index)] and wait for every answer."""
        import heapq

        heap = [(due, i, False) for due, i in dues]
        heapq.heapify(heap)
        waiting: dict[int, list] = {}  # beats held back by the learner's unanswered one
        self.waiting = waiting
        while True:
            now = time.perf_counter()
            while heap and heap[0][0] <= now:
                due, i, retry = heapq.heappop(heap)
                if not retry and self.rng.random() < self.retry_share:
                    heapq.heappush(heap, (due + 0.05, i, True))
                ln = self.learners[i]
                if ln.inflight is not None:
                    waiting.setdefault(i, []).append((due, retry))
                else:
                    self.beat(ln, due, retry)
            if not heap and not any(waiting.values()) and all(ln.inflight is None for ln in self.learners):
                return
            timeout = max(0.0, heap[0][0] - time.perf_counter()) if heap else 0.5
            for key, _ in self.sel.select(timeout):
                self.on_readable(key.data)

    def connect(self, ln):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        ln.sock, ln.buf = s, b""
        self.sel.register(s, selectors.EVENT_READ, ln)

    def send(self, ln, body, scheduled):
        if ln.sock is None:
            self.connect(ln)
        ln.inflight = (body, scheduled)
        ln.sock.sendall(ln.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def beat(self, ln, scheduled, retry):
        if not retry:
            ln.seq += 1
            a, b = ln.pos, ln.pos + self.period
            ln.pos = b
            body = (b'{"lesson":%d,"intervals":[[%.3f,%.3f]],"position":%.3f,"client_id":"bench-%d","seq":%d}'
                    % (self.lesson_id, a, b, b, ln.i, ln.seq))
            ln.last = (body, ln.seq, (round(a, 3), round(b, 3)))
        self.send(ln, ln.last[0], scheduled)

    def drop(self, ln):
        self.sel.unregister(ln.sock)
        ln.sock.close()
        ln.sock = None

    def on_readable(self, ln):
        try:
            data = ln.sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:  # the server closed the connection (keep-alive timeout, a restart)
            self.drop(ln)
            if ln.inflight is not None:
                self.reconnects += 1
                self.send(ln, *ln.inflight)  # unanswered: send it again (idempotent per client_id, seq)
            return
        ln.buf += data
        head_end = ln.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = ln.buf[:head_end + 2]
        cl = head.lower().find(b"\r\ncontent-length:") + 17
        length = int(head[cl:head.find(b"\r\n", cl)])
        if len(ln.buf) < head_end + 4 + length:
            return
        body = ln.buf[head_end + 4:head_end + 4 + length]
        ln.buf = ln.buf[head_end + 4 + length:]
        status = int(head[9:12])
        body_sent, scheduled = ln.inflight
        ln.inflight = None
        self.samples.append((scheduled, time.perf_counter() - scheduled, status))
        if status == 200:
            if body_sent == ln.last[0]:
                ln.acked[ln.last[1]] = ln.last[2]
        else:
            self.errors.append((ln.i, status, body[:200]))
        if b"Set-Cookie" in head or b"set-cookie" in head:  # the idle clock moved: keep the new cookie
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"set-cookie:"):
                    name, _, value = line[11:].strip().split(b";")[0].partition(b"=")
                    ln.head = re.sub(rb"Cookie: [^\r]*", lambda m: _set_cookie(m.group(0), name, value), ln.head)
        if b"onnection: close" in head:
            self.drop(ln)
        held = self.waiting.get(ln.i)
        if held:
            self.beat(ln, *held.pop(0))

    def close(self):
        for ln in self.learners:
            if ln.sock is not None:
                self.drop(ln)


def _set_cookie(header: bytes, name: bytes, value: bytes) -> bytes:
    pairs = dict(p.split(b"=", 1) for p in header[8:].split(b"; "))
    pairs[name] = value
    return b"Cookie: " + b"; ".join(k + b"=" + v for k, v in pairs.items())


async def sign_in_all(port, learners, lesson_id):
    sem = asyncio.Semaphore(50)

    async def one(i):
        async with sem:
            conn, csrf = await sign_in(port, i, lesson_id)
            if conn.writer is not None:
                conn.writer.close()
            return conn.cookies, csrf

    return await asyncio.gather(*(one(i) for i in range(learners)))
