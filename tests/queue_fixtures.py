"""The queue as in production, for any area's tests: `worker_queue` stops running jobs at once
(tests otherwise set QUEUE_IMMEDIATE); jobs wait in the outbox until `worker_queue.relay()` hands
them to huey and `worker_queue.work()` runs what huey holds, as `flask worker` would."""
from __future__ import annotations

import pytest


class WorkerQueue:
    def __init__(self, huey):
        self.huey = huey
        self._working = None

    def refuse(self) -> None:
        """Redis gone: huey's storage points at a closed port, so every hand-over raises."""
        import socket

        from huey.storage import RedisStorage

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._working = self._working or self.huey.storage
        self.huey.storage = RedisStorage("xiangxue", url=f"redis://127.0.0.1:{port}")

    def repair(self) -> None:
        """Redis is back."""
        if self._working is not None:
            self.huey.storage, self._working = self._working, None

    def relay(self, **options) -> int:
        from lms.queue import relay

        return relay(**options)

    def messages(self) -> list[str]:
        """Ids of the messages huey holds (queued or scheduled)."""
        return [t.id for t in self.huey.pending()] + [t.id for t in self.huey.scheduled()]

    def work(self) -> int:
        """Run every queued message, as the consumer does; returns how many ran."""
        count = 0
        while (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)
            count += 1
        return count


@pytest.fixture
def worker_queue(app):
    from lms.queue import huey

    huey.immediate = False  # back to the real storage (SQLite in the tests' instance folder)
    huey.flush()
    queue = WorkerQueue(huey)
    yield queue
    queue.repair()
    huey.flush()
    huey.immediate = bool(app.config.get("QUEUE_IMMEDIATE"))
