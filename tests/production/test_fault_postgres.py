"""PostgreSQL restarts: while it is away people get 503 with Retry-After (a page for people, JSON for
the player), the player's queue keeps its heartbeats, and once it is back no process answers 500
(stale pooled connections are replaced) and every heartbeat is stored once."""
from __future__ import annotations

from tests.production import flows
from tests.production.browser import Browser
from tests.production.conftest import LEARNERS, learner


def test_a_postgresql_restart_gives_503_then_no_500(cluster, published):
    lesson, duration = published["lesson"], published["duration"]
    person = learner(cluster, 6)
    flows.open_lesson(person, lesson)
    first, _ = flows.send_until_answered(person, lesson, "pg-tab", 1, 0, 1)
    # Each host's pool now holds connections to the server that is about to go away.
    for _ in range(4):
        assert person.get("/learn").status == 200

    cluster.stop_postgres("fast")
    try:
        for _ in range(2):  # both hosts
            page = person.get("/learn")
            assert page.status == 503, page.text[:300]
            assert int(page.header("Retry-After")) > 0
            assert page.header("Content-Type").startswith("text/html") and "Traceback" not in page.text
            beat = flows.heartbeat(person, lesson, "pg-tab", 2, 1, 2)
            assert beat.status == 503 and int(beat.header("Retry-After")) > 0, beat.text[:300]
            assert beat.header("Content-Type").startswith("application/json")
        # The load balancer's and the monitor's question (no cookie) gets the reason.
        health = Browser(cluster.url).get("/healthz?for=web")
        assert health.status == 503 and health.json()["checks"]["database"]["ok"] is False
    finally:
        cluster.start_postgres()

    # The player's queue still holds heartbeat 2 and sends it again until it is answered.
    answer, failures = flows.send_until_answered(person, lesson, "pg-tab", 2, 1, 2)
    assert 500 not in failures and answer.json()["watched_seconds"] >= 2 - 0.05
    statuses = [person.get("/learn").status for _ in range(8)]
    statuses += [flows.heartbeat(person, lesson, "pg-tab", seq, seq - 1, seq).status for seq in range(3, 7)]
    assert statuses == [200] * 12, statuses
    assert cluster.procs["worker"].poll() is None  # the worker survived the outage too

    user = cluster.learner_ids[LEARNERS[6]]
    stored = cluster.sql("SELECT seq, count(*) FROM heartbeats WHERE user_id = %s AND client_id = 'pg-tab' "
                         "GROUP BY seq ORDER BY seq", user)
    assert stored == [(seq, 1) for seq in range(1, 7)]
    [(watched,)] = cluster.sql("SELECT watched_seconds FROM progress WHERE user_id = %s AND lesson_id = %s",
                               user, lesson)
    assert abs(watched - min(duration, 6)) < 0.05
