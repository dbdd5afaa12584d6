"""The transactional outbox (lms.queue): a job is written with the change that needs it, the relay
hands it to huey once, a queue that refuses or loses jobs delays them but loses none."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event, func, select

from lms.db import utcnow
from lms.extensions import db
from lms.queue import (LOST_AFTER, MAX_BACKOFF, JobOutbox, TaskFailure, app_task, enqueue, huey,
                       relay_forever, requeue_lost)
from lms.regions.models import Region


@app_task()
def add_region(code: str) -> str:
    # Not idempotent on purpose: a second run of the same job would fail on the primary key.
    db.session.add(Region(code=code, name="测试省", level=1))
    return code


def regions_named(*codes):
    db.session.expire_all()
    return sorted(db.session.scalars(select(Region.code).where(Region.code.in_(codes))))


def outbox():
    db.session.expire_all()
    return db.session.scalars(select(JobOutbox).order_by(JobOutbox.id)).all()


@pytest.fixture
def broken_queue(worker_queue):
    worker_queue.refuse()
    return worker_queue


def test_a_job_is_written_with_its_change_and_a_rollback_leaves_neither(worker_queue):
    db.session.add(Region(code="610000000000", name="陕西省", level=1))
    enqueue(add_region, "620000000000")
    db.session.rollback()
    assert outbox() == [] and worker_queue.relay() == 0 and worker_queue.messages() == []
    assert regions_named("610000000000", "620000000000") == []

    db.session.add(Region(code="610000000000", name="陕西省", level=1))
    enqueue(add_region, "620000000000")
    db.session.commit()
    [row] = outbox()
    assert (row.task, row.args, row.dispatched_at) == ("tests.lms.test_outbox.add_region", ["620000000000"], None)
    # The committing code never talked to the queue: the job waits for the relay.
    assert worker_queue.messages() == []
    assert worker_queue.relay() == 1
    assert worker_queue.messages() == [f"outbox-{row.id}"] and outbox()[0].dispatched_at is not None
    assert worker_queue.work() == 1
    assert regions_named("610000000000", "620000000000") == ["610000000000", "620000000000"]
    assert outbox() == []  # the job's own commit ended its row


def test_in_immediate_mode_a_job_runs_at_commit_and_never_after_a_rollback(app):
    assert huey.immediate
    enqueue(add_region, "620000000000")
    db.session.rollback()
    db.session.commit()
    assert regions_named("620000000000") == [] and outbox() == []
    enqueue(add_region, "620000000000")
    assert regions_named("620000000000") == []  # not before the commit
    db.session.commit()
    assert regions_named("620000000000") == ["620000000000"] and outbox() == []


def test_the_same_job_twice_in_one_transaction_is_queued_once(worker_queue):
    enqueue(add_region, "620000000000")
    enqueue("tests.lms.test_outbox.add_region", "620000000000")
    db.session.commit()
    assert len(outbox()) == 1


def test_an_unknown_task_is_refused_when_queued_not_in_the_worker(app):
    with pytest.raises(Exception, match="not found"):
        enqueue("search.tasks.no_such_task", 1)
    db.session.rollback()
    assert outbox() == []


def test_the_relay_keeps_jobs_while_the_queue_refuses_them(broken_queue):
    enqueue(add_region, "620000000000")
    enqueue(add_region, "630000000000")
    db.session.commit()
    with pytest.raises(RedisConnectionError):
        broken_queue.relay()
    rows = outbox()
    assert [(r.dispatched_at, r.attempts) for r in rows] == [(None, 1), (None, 1)]
    assert "Connection" in rows[0].last_error
    with pytest.raises(RedisConnectionError):
        broken_queue.relay()
    assert [r.attempts for r in outbox()] == [2, 2]

    broken_queue.repair()  # Redis is back
    assert broken_queue.relay() == 2 and broken_queue.work() == 2
    assert regions_named("620000000000", "630000000000") == ["620000000000", "630000000000"]
    assert outbox() == []


def test_a_message_the_queue_lost_is_relayed_again(worker_queue):
    enqueue(add_region, "620000000000")
    db.session.commit()
    assert worker_queue.relay() == 1
    huey.flush()  # Redis restarted without its data
    now = utcnow()
    assert requeue_lost(now) == []  # just handed over: not yet counted as lost
    [row] = outbox()
    assert requeue_lost(now + LOST_AFTER + timedelta(seconds=1)) == [row.id]
    assert outbox()[0].dispatched_at is None
    assert worker_queue.relay() == 1 and worker_queue.work() == 1
    assert regions_named("620000000000") == ["620000000000"] and outbox() == []


def test_a_message_the_queue_still_holds_is_not_sent_twice(worker_queue):
    enqueue(add_region, "620000000000")
    db.session.commit()
    worker_queue.relay()
    later = utcnow() + LOST_AFTER + timedelta(seconds=1)
    assert requeue_lost(later) == [] and worker_queue.relay() == 0
    assert len(worker_queue.messages()) == 1


def test_a_duplicate_message_of_a_finished_job_does_nothing(worker_queue):
    enqueue(add_region, "620000000000")
    db.session.commit()
    worker_queue.relay()
    message = huey.dequeue()
    huey.execute(message)
    huey.enqueue(message)  # the same message again (delivered twice)
    assert worker_queue.work() == 1
    assert regions_named("620000000000") == ["620000000000"]
    assert db.session.scalar(select(func.count(TaskFailure.id))) == 0


def test_a_delayed_job_waits_in_the_outbox_until_due(worker_queue):
    enqueue(add_region, "620000000000", delay=60)
    db.session.commit()
    assert worker_queue.relay() == 0 and worker_queue.messages() == []
    [row] = outbox()
    assert timedelta(seconds=55) < row.available_at - row.created_at <= timedelta(seconds=61)


def test_two_relays_racing_hand_each_job_over_once(worker_queue, app):
    codes = [f"62{n:010d}" for n in range(40)]
    for code in codes:
        enqueue(add_region, code)
    db.session.commit()
    ids = [f"outbox-{row.id}" for row in outbox()]
    start, sent, errors = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                start.wait()
                while (n := worker_queue.relay(limit=7)) or any(r.dispatched_at is None for r in outbox()):
                    sent.append(n)
        except Exception as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(sent) == 40 and sorted(worker_queue.messages()) == sorted(ids)
    assert worker_queue.work() == 40
    assert regions_named(*codes) == codes
    assert db.session.scalar(select(func.count(TaskFailure.id))) == 0


class _Stop:
    """A stop event for relay_forever that records its waits and ends the loop after a few."""

    def __init__(self, rounds):
        self.waits, self.rounds = [], rounds

    def is_set(self):
        return len(self.waits) >= self.rounds

    def wait(self, seconds):
        self.waits.append(seconds)


def test_an_idle_relay_reads_the_database_once_a_second(app, worker_queue):
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        stop = _Stop(rounds=5)
        relay_forever(app, stop)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert stop.waits == [1.0] * 5
    # one SELECT per round, plus the first round's look for lost messages; nothing written
    assert len(statements) == 6 and all(s.lstrip().upper().startswith("SELECT") for s in statements)


def test_a_relay_facing_a_refusing_queue_backs_off_to_ten_seconds(app, broken_queue):
    enqueue(add_region, "620000000000")
    db.session.commit()
    stop = _Stop(rounds=5)
    relay_forever(app, stop)
    assert stop.waits == [2.0, 4.0, 8.0, MAX_BACKOFF, MAX_BACKOFF]
    assert [(r.dispatched_at, r.attempts) for r in outbox()] == [(None, 5)]


def test_admins_see_the_jobs_waiting_while_the_queue_refuses_them(client, make_user, login, broken_queue):
    enqueue(add_region, "620000000000")
    db.session.commit()
    with pytest.raises(RedisConnectionError):
        broken_queue.relay()
    login(client, make_user("admin"))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "等待交给后台处理的任务：1 个" in page and "队列服务器暂时不接收任务" in page
    broken_queue.repair()
    assert broken_queue.relay() == 1 and broken_queue.work() == 1
    assert "等待交给后台处理的任务" not in client.get("/admin/jobs").get_data(as_text=True)


def test_a_job_written_in_a_rolled_back_savepoint_can_be_written_again(worker_queue):
    nested = db.session.begin_nested()
    enqueue(add_region, "620000000000")
    nested.rollback()
    enqueue(add_region, "620000000000")
    db.session.commit()
    assert [row.args for row in outbox()] == [["620000000000"]]


def test_a_rolled_back_savepoint_keeps_the_jobs_written_before_it(app):
    enqueue(add_region, "610000000000")
    nested = db.session.begin_nested()
    enqueue(add_region, "620000000000")
    nested.rollback()
    db.session.commit()
    assert regions_named("610000000000", "620000000000") == ["610000000000"] and outbox() == []
