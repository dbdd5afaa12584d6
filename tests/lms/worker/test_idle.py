"""``flask worker`` idle: its threads are woken instead of polling the queue, its scheduler reads
huey's schedule only when something there is due, and ``--first`` runs the start-up commands of
bin/serve in the worker's own process."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from courses.models import Programme
from lms.extensions import db
from lms.queue import app_task, enqueue, huey, relay_forever
from lms.regions.models import Region
from lms.worker import idle
from lms.worker.idle import QUEUE_LOOK_EVERY, SCHEDULE_LOOK_EVERY, LocalSchedule, TimedScheduler, WokenWorker


@app_task()
def add_idle_region(code: str) -> str:
    db.session.add(Region(code=code, name="测试省", level=1))
    return code


class Recorder:
    """Stands for an Event: records the timeouts it was asked to wait, never blocks."""

    def __init__(self):
        self.waits, self.flag = [], False

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self.flag

    def is_set(self):
        return self.flag

    def set(self):
        self.flag = True

    def clear(self):
        self.flag = False


class Counting:
    """huey's storage with its reads of the queue and of the schedule counted."""

    def __init__(self, storage):
        self.storage, self.dequeues, self.schedule_reads = storage, 0, 0

    def __getattr__(self, name):
        return getattr(self.storage, name)

    def dequeue(self):
        self.dequeues += 1
        return self.storage.dequeue()

    def read_schedule(self, ts):
        self.schedule_reads += 1
        return self.storage.read_schedule(ts)


@pytest.fixture
def counted(worker_queue):
    real = huey.storage
    huey.storage = Counting(real)
    yield huey.storage
    huey.storage = real


def _worker(wake):
    worker = WokenWorker(huey, Recorder(), default_delay=0.1, max_delay=1.0, backoff=1.15)
    worker.wake = wake
    return worker


def test_an_idle_worker_thread_looks_at_the_queue_once_then_sleeps_until_woken(counted):
    wake = Recorder()
    worker = _worker(wake)
    for _ in range(3):
        worker.loop()
    # one look per wake-up; each sleep lasts until woken or QUEUE_LOOK_EVERY (huey's own worker
    # would have looked every second)
    assert counted.dequeues == 3 and wake.waits == [QUEUE_LOOK_EVERY] * 3


def test_a_job_the_relay_hands_over_wakes_the_worker_which_runs_it(app, counted):
    enqueue(add_idle_region, "640000000000")
    db.session.commit()
    sent = threading.Event()
    stop = Recorder()
    stop.is_set = lambda: bool(stop.waits)  # one round of the relay
    relay_forever(app, stop, sent_event=sent)
    assert sent.is_set()
    wake = Recorder()
    worker = _worker(wake)
    worker.loop()
    # it ran the job, and left the wake-up set: another thread looks for the next one at once
    assert db.session.scalar(select(func.count()).where(Region.code == "640000000000")) == 1
    assert wake.flag and wake.waits == []
    worker.loop()
    assert wake.waits == [QUEUE_LOOK_EVERY]


def test_an_idle_relay_wakes_nobody(app, worker_queue):
    sent = threading.Event()
    stop = Recorder()
    stop.is_set = lambda: len(stop.waits) >= 3
    relay_forever(app, stop, sent_event=sent)
    assert not sent.is_set()


def _scheduler(schedule):
    scheduler = TimedScheduler(huey, Recorder(), interval=1, periodic=False)
    scheduler.wake, scheduler.schedule = Recorder(), schedule
    return scheduler


def test_the_scheduler_reads_the_schedule_only_every_look_or_when_a_retry_of_its_own_is_due(counted):
    schedule = LocalSchedule()
    scheduler = _scheduler(schedule)
    for _ in range(5):
        scheduler.loop()
    assert counted.schedule_reads == 1  # the first tick; the next look is SCHEDULE_LOOK_EVERY later
    now = idle.time.monotonic()
    assert not schedule.should_read(now + SCHEDULE_LOOK_EVERY - 1)
    assert schedule.should_read(now + SCHEDULE_LOOK_EVERY + 1)
    # a retry this process put in the schedule, due in 5 s: read then, not 30 s later
    schedule.note("scheduled", SimpleNamespace(eta=huey._get_timestamp() + timedelta(seconds=5)))
    assert not schedule.should_read(now + 1)
    assert schedule.should_read(now + 6)
    schedule.was_read(now + 6)
    assert not schedule.should_read(now + 7)


def test_a_retry_moved_from_the_schedule_wakes_the_worker_threads(counted):
    task = add_idle_region.s("650000000000")
    task.eta = huey._get_timestamp() - timedelta(seconds=1)
    huey.add_schedule(task)
    scheduler = _scheduler(LocalSchedule())
    scheduler.loop()
    assert scheduler.wake.flag
    assert [t.id for t in huey.pending()] == [task.id]


def test_stopping_the_consumer_wakes_its_sleeping_threads(worker_queue):
    consumer, wake = idle.create_consumer(workers=2)
    consumer.stop()
    assert wake.is_set() and consumer.stop_flag.is_set()


def test_worker_first_runs_commands_in_its_process_then_says_it_is_ready(runner, tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(logging, "basicConfig", lambda **options: None)  # the test run's logging stays
    monkeypatch.setattr(idle.WokenConsumer, "run", lambda self: ran.append(True))
    ready = tmp_path / "ready"
    result = runner.invoke(args=["worker", "--first", "courses seed", "--ready-file", str(ready)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Programme.id))) > 0
    assert ready.exists() and ran == [True]


def test_worker_does_not_start_when_a_first_command_fails(runner, tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(idle.WokenConsumer, "run", lambda self: ran.append(True))
    ready = tmp_path / "ready"
    result = runner.invoke(args=["worker", "--first", "courses no-such-command", "--ready-file", str(ready)])
    assert result.exit_code != 0
    assert not ready.exists() and ran == []
