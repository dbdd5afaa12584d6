"""A web host dies while learners' players send heartbeats: nginx sends them to the other host,
the players' queues resend what got no answer, and every acknowledged heartbeat is stored once."""
from __future__ import annotations

import threading

from tests.production import flows
from tests.production.conftest import LEARNERS, learner

HEARTBEATS = 60
STEP = 0.1  # seconds claimed per heartbeat: 60 of them cover a 6 s lesson


def test_killing_a_web_host_mid_heartbeats_loses_and_doubles_nothing(cluster, published):
    lesson, duration = published["lesson"], published["duration"]
    people = {n: learner(cluster, n) for n in (2, 3, 4, 5)}
    for browser in people.values():
        flows.open_lesson(browser, lesson)
    acked = {n: [] for n in people}
    failures = {n: [] for n in people}
    halfway = threading.Barrier(len(people) + 1)
    errors = []

    def play(n):
        try:
            for seq in range(1, HEARTBEATS + 1):
                if seq == HEARTBEATS // 3:
                    halfway.wait(timeout=60)
                start = round((seq - 1) * STEP, 2)
                answer, failed = flows.send_until_answered(people[n], lesson, f"tab-{n}", seq, start,
                                                           min(duration, round(start + STEP, 2)))
                acked[n].append(seq)
                failures[n] += failed
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            halfway.abort()

    threads = [threading.Thread(target=play, args=(n,)) for n in people]
    for thread in threads:
        thread.start()
    halfway.wait(timeout=60)
    cluster.kill("web1")  # SIGKILL to the gunicorn master and its worker: the machine is gone
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    try:
        for n in people:
            assert acked[n] == list(range(1, HEARTBEATS + 1))
            # What a player may meet while nginx notices: a dropped or refused connection, a 502.
            # Never a 500, never a refusal of the heartbeat itself.
            assert set(failures[n]) <= {502, 503, 504, "RemoteDisconnected", "ConnectionResetError",
                                        "IncompleteRead"}, failures[n]
            user = cluster.learner_ids[LEARNERS[n]]
            stored = cluster.sql("SELECT seq, count(*) FROM heartbeats WHERE user_id = %s AND client_id = %s "
                                 "GROUP BY seq ORDER BY seq", user, f"tab-{n}")
            assert stored == [(seq, 1) for seq in range(1, HEARTBEATS + 1)]
            [(watched, completed_at)] = cluster.sql(
                "SELECT watched_seconds, completed_at FROM progress WHERE user_id = %s AND lesson_id = %s",
                user, lesson)
            assert abs(watched - min(duration, HEARTBEATS * STEP)) < 0.05
            assert completed_at is not None
            assert cluster.sql("SELECT count(*) FROM enrolments WHERE user_id = %s AND course_id = %s "
                               "AND completed_at IS NOT NULL", user, published["course"]) == [(1,)]
        # Everything after the kill went to the surviving host.
        assert "/api/v1/progress" in cluster.access_log("web2")
    finally:
        cluster.start_web("web1")
    # The host comes back and serves again.
    for browser in people.values():
        assert browser.get("/learn").status == 200
