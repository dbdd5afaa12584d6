"""How ``flask worker`` waits for work: woken rather than polling, so that idle it looks at a
database about once a second (the outbox relay's one SELECT) and at the queue twice a minute.

huey's consumer left to itself has each worker thread poll the queue (``instance/queue.db`` by
default) at least every ``max_delay`` seconds, the scheduler read the schedule every second and
the main thread wake ten times a second: with the relay, an idle worker looked at a database
four times a second. Here:

* A worker thread that finds the queue (SQLite) empty sleeps until it is woken: by the relay when it has
  handed jobs to huey, by the scheduler when it has moved due jobs to the queue, or by the consumer
  stopping. It looks at the queue anyway every ``QUEUE_LOOK_EVERY`` seconds, for messages another
  process put there (a second worker's relay). After a job, and whenever it took one (a peer is
  woken too: there may be more), it looks again at once. On Redis a look blocks in Redis for up to
  a second (huey's BRPOP), as before: there any host's relay may have queued the job.
* The scheduler still ticks every second (no database: periodic jobs are due by the clock), enqueues
  the periodic jobs once a minute, and reads huey's schedule (retries waiting their delay) only when
  a retry this process scheduled is due, or every ``SCHEDULE_LOOK_EVERY`` seconds for those of
  other processes.
* The relay (``lms.queue.relay_forever``) keeps its one SELECT a second; its check for lost
  messages every 15 s runs in the same wake-up.

bench/footprint.py counts the statements an idle worker sends and its CPU per minute.
"""
from __future__ import annotations

import heapq
import threading
import time

from huey.consumer import Consumer, Scheduler, Worker
from huey.signals import SIGNAL_SCHEDULED

from lms.queue import huey

QUEUE_LOOK_EVERY = 30.0
SCHEDULE_LOOK_EVERY = 30.0
# How often the consumer's main thread checks for a signal to stop (huey's default: 0.1 s).
STOP_CHECK = 1.0
QUEUE_ERROR_PAUSE = 1.0


class LocalSchedule:
    """When the scheduler next needs to read huey's schedule: the soonest retry this process put
    there (huey's "scheduled" signal gives its time), or the periodic look for other processes'."""

    def __init__(self, look_every: float = SCHEDULE_LOOK_EVERY):
        self.look_every = look_every
        self._lock = threading.Lock()
        self._due: list[float] = []  # monotonic times of this process's scheduled retries
        self._next_look = time.monotonic()

    def note(self, signal, task) -> None:
        if task.eta is None:
            return
        delay = (task.eta - huey._get_timestamp()).total_seconds()
        with self._lock:
            heapq.heappush(self._due, time.monotonic() + max(delay, 0.0))

    def should_read(self, now: float) -> bool:
        with self._lock:
            return now >= self._next_look or bool(self._due and self._due[0] <= now)

    def was_read(self, now: float) -> None:
        with self._lock:
            while self._due and self._due[0] <= now:
                heapq.heappop(self._due)
            self._next_look = now + self.look_every


class WokenWorker(Worker):
    """huey's worker thread, sleeping on ``wake`` instead of polling an empty queue."""

    wake: threading.Event
    look_every: float = QUEUE_LOOK_EVERY

    def loop(self, now=None):
        # Cleared before looking: a job handed over after this point sets it again.
        self.wake.clear()
        try:
            task = self.huey.dequeue()
        except Exception:
            self._logger.exception("Error reading from queue")
            self.stop_flag.wait(QUEUE_ERROR_PAUSE)
            return
        if task is None:
            # A blocking queue (Redis) already waited in its own look (BRPOP): wake-ups there come
            # from any host's relay, which a thread woken only by its own relay would miss.
            if not self.huey.storage.blocking and not self.stop_flag.is_set():
                self.wake.wait(self.look_every)
            return
        self.wake.set()  # another thread may take the next one meanwhile
        self._run(task, now)

    def _run(self, task, now) -> None:
        # As huey's Worker.loop does with a task it dequeued.
        self.task_count += 1
        try:
            self.huey.execute(task, now)
        except Exception:
            self._logger.exception("Unhandled error during execution of task %s.", task.id)
        if self.max_tasks and self.task_count >= self.max_tasks:
            from huey.consumer import WorkerRecycle

            self._logger.info("Worker reached max tasks (%d), exiting.", self.max_tasks)
            raise WorkerRecycle()


class TimedScheduler(Scheduler):
    """huey's scheduler, reading the schedule only when ``schedule`` says so."""

    wake: threading.Event
    schedule: LocalSchedule

    def loop(self, now=None):
        current = time.monotonic()
        moved = False
        if self.schedule.should_read(current):
            try:
                tasks = self.huey.read_schedule(now)
            except Exception:
                self._logger.exception("Error reading schedule.")
                tasks = []
            self.schedule.was_read(current)
            for task in tasks:
                moved |= self._enqueue(task)
        if self.periodic and self._next_periodic <= current:
            while self._next_periodic <= time.monotonic():
                self._next_periodic += self.periodic_task_seconds
            for task in self.huey.read_periodic(now):
                self._logger.info("Enqueueing periodic task %s.", task)
                moved |= self._enqueue(task)
        if moved:
            self.wake.set()
        self.sleep_for_interval(current, self.interval)

    def _enqueue(self, task) -> bool:
        try:
            self.huey.enqueue(task)
            return True
        except Exception:
            self._logger.exception("Error enqueueing %s.", task)
            return False


class WokenConsumer(Consumer):
    worker_class = WokenWorker
    scheduler_class = TimedScheduler

    def __init__(self, *args, **kwargs):
        # Before huey's __init__: it creates the worker threads and the scheduler.
        self.wake = threading.Event()
        self.schedule = LocalSchedule()
        super().__init__(*args, **kwargs)
        self._stop_flag_timeout = STOP_CHECK

    def _create_worker(self):
        worker = super()._create_worker()
        worker.wake = self.wake
        return worker

    def _create_scheduler(self):
        scheduler = super()._create_scheduler()
        scheduler.wake, scheduler.schedule = self.wake, self.schedule
        return scheduler

    def run(self):
        self.huey.signal(SIGNAL_SCHEDULED)(self.schedule.note)
        try:
            super().run()
        finally:
            self.huey.disconnect_signal(self.schedule.note, SIGNAL_SCHEDULED)

    def stop(self, graceful=False):
        # The flag first, then the wake-up: a woken thread sees it and ends.
        self.stop_flag.set()
        self.wake.set()
        super().stop(graceful)


def create_consumer(workers: int) -> tuple[WokenConsumer, threading.Event]:
    """The consumer ``flask worker`` runs, and the event its relay sets after handing jobs over."""
    consumer = WokenConsumer(huey, workers=workers, worker_type="thread", periodic=True,
                             check_worker_health=True)
    return consumer, consumer.wake
