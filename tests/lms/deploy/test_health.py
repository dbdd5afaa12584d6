"""/healthz: database, queue, disk and the worker's heartbeat, for the load balancer and monitoring."""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from lms import create_app, queue
from lms.extensions import db


@pytest.fixture(autouse=True)
def _media_volume(app):
    """The media volume is mounted (a host without it is not healthy)."""
    os.makedirs(app.config["MEDIA_ROOT"], exist_ok=True)


def _worker_beats():
    """Run the worker's heartbeat job the way the consumer's scheduler does at a minute boundary."""
    from lms.queue import huey

    due = huey.read_periodic(datetime(2026, 12, 1, 22, 7))
    beats = [task for task in due if task.name.endswith("record_worker_heartbeat")]
    assert len(beats) == 1, "the heartbeat job runs every minute"
    huey.execute(beats[0])


def test_healthy_when_the_worker_has_beaten_within_three_minutes(client):
    _worker_beats()
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "queue", "disk", "worker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["worker"]["age_seconds"] < 60
    assert body["checks"]["queue"]["pending"] == 0  # nothing was queued
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"


def test_a_worker_silent_for_over_three_minutes_fails_the_check_but_not_the_web_check(client):
    from lms.deploy.models import WorkerHeartbeat

    _worker_beats()
    db.session.execute(update(WorkerHeartbeat).values(seen_at=datetime.now(timezone.utc) - timedelta(minutes=4)))
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail" and body["checks"]["worker"]["ok"] is False
    assert body["checks"]["worker"]["age_seconds"] >= 240 and body["checks"]["database"]["ok"] is True
    web = client.get("/healthz?for=web")
    assert web.status_code == 200 and "worker" not in web.get_json()["checks"]


def test_no_worker_ever_is_not_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["checks"]["worker"] == {
        "ok": False, "last_seen": None, "ms": response.get_json()["checks"]["worker"]["ms"]}


def test_the_load_balancer_is_never_rate_limited_nor_asked_for_a_session_or_csrf(client):
    _worker_beats()
    assert all(client.get("/healthz").status_code == 200 for _ in range(60))
    assert client.post("/healthz").status_code == 405


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_away_is_a_503_naming_the_database(app):
    config = {k: app.config[k] for k in ("SECRET_KEY", "DATA_KEY", "MEDIA_ROOT", "SEARCH_INDEX", "SERVER_NAME")}
    config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://x@127.0.0.1:{_free_port()}/x")
    dead = create_app(config)
    queue.init_app(app)
    response = dead.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["queue"]["ok"] is True
    with dead.app_context():
        db.engine.dispose()


def test_queue_away_is_a_503_naming_the_queue(client, monkeypatch):
    from huey import RedisHuey

    _worker_beats()
    monkeypatch.setattr(queue, "huey", RedisHuey("xiangxue-test", url=f"redis://127.0.0.1:{_free_port()}/0"))
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["checks"]["queue"]["ok"] is False
    assert "ConnectionError" in body["checks"]["queue"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_the_load_balancer_keeps_a_web_host_while_redis_is_away(client, monkeypatch):
    from huey import RedisHuey

    _worker_beats()
    monkeypatch.setattr(queue, "huey", RedisHuey("xiangxue-test", url=f"redis://127.0.0.1:{_free_port()}/0"))
    response = client.get("/healthz?for=web")
    body = response.get_json()
    # People can still sign in, learn and publish (jobs wait in the outbox): the host stays in.
    assert response.status_code == 200 and set(body["checks"]) == {"database", "disk"}
