import pytest

from lms.extensions import db
from tests.lms.learning.heartbeats import beat


def test_heartbeat_records_played_seconds(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    clock.now += 12
    r = beat(client, lesson, [[0, 10]], 1)
    assert r.status_code == 200
    assert r.get_json() == {"watched_seconds": 10.0, "coverage": 0.1, "completed": False}


def test_same_client_and_seq_is_applied_once(client, learner_in_lesson, clock):
    from lms.learning.models import Heartbeat

    _, _, lesson = learner_in_lesson
    clock.now += 12
    first = beat(client, lesson, [[0, 10]], 1).get_json()
    clock.now += 15
    again = beat(client, lesson, [[20, 30]], 1).get_json()
    assert again == first
    assert db.session.query(Heartbeat).count() == 1


def test_replays_and_out_of_order_never_go_backwards(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    clock.now += 15
    beat(client, lesson, [[0, 15]], 1)
    clock.now += 15
    r = beat(client, lesson, [[0, 15]], 3)   # replayed the same part
    assert r.get_json()["watched_seconds"] == 15
    clock.now += 15
    r = beat(client, lesson, [[15, 28]], 2)  # an older heartbeat arriving late still counts
    assert r.get_json()["watched_seconds"] == 28


@pytest.mark.parametrize("intervals,code", [
    ([[10, 5]], "interval_inverted"),
    ([[-3, 5]], "interval_range"),
    ([[90, 140]], "interval_range"),
    ([[0, "x"]], "interval_type"),
])
def test_bad_intervals_are_rejected(client, learner_in_lesson, clock, intervals, code):
    _, _, lesson = learner_in_lesson
    clock.now += 15
    r = beat(client, lesson, intervals, 1, position=1)
    assert r.status_code == 400 and r.get_json()["error"] == code


def test_claiming_more_than_could_be_played_is_rejected_and_changes_nothing(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    clock.now += 15
    assert beat(client, lesson, [[0, 15]], 1).status_code == 200
    clock.now += 2
    r = beat(client, lesson, [[15, 95]], 2)
    assert r.status_code == 400 and r.get_json()["error"] == "too_fast"
    clock.now += 15
    assert beat(client, lesson, [[15, 30]], 3).get_json()["watched_seconds"] == 30


def test_seeking_to_the_end_does_not_complete(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    clock.now += 15
    r = beat(client, lesson, [[0, 3], [95, 100]], 1, position=100)
    assert r.get_json()["completed"] is False
    assert r.get_json()["watched_seconds"] == 8


def test_threshold_completes_once(client, learner_in_lesson, clock):
    from lms.learning.models import Progress

    _, _, lesson = learner_in_lesson
    for seq in range(1, 7):
        clock.now += 15
        r = beat(client, lesson, [[(seq - 1) * 15, seq * 15]], seq)
    assert r.get_json()["completed"] is True  # 90 of 100 s
    first = db.session.query(Progress).one().completed_at
    clock.now += 15
    beat(client, lesson, [[90, 100]], 7)
    db.session.expire_all()
    assert db.session.query(Progress).one().completed_at == first


def test_threshold_is_a_setting(client, learner_in_lesson, clock):
    from lms.settings import set_setting

    set_setting("learning.completion_threshold", 0.5)
    db.session.commit()
    _, _, lesson = learner_in_lesson
    for seq in range(1, 5):
        clock.now += 15
        r = beat(client, lesson, [[(seq - 1) * 15, seq * 15]], seq)
    assert r.get_json()["completed"] is True  # 60 of 100 s


def test_csrf_and_sign_in_required(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    body = {"lesson": lesson.id, "intervals": [], "client_id": "a", "seq": 1, "position": 0}
    assert client.post("/api/v1/progress", json=body).status_code == 403
    client.post_form("/signout")
    assert client.post("/api/v1/progress", json=body).status_code == 401


def test_beacon_body_carries_the_csrf_token(client, learner_in_lesson, clock):
    _, _, lesson = learner_in_lesson
    clock.now += 10
    body = {"lesson": lesson.id, "intervals": [[0, 8]], "client_id": "b", "seq": 1, "position": 8,
            "csrf_token": client.csrf_token()}
    r = client.post("/api/v1/progress", data=__import__("json").dumps(body), content_type="text/plain")
    assert r.status_code == 200 and r.get_json()["watched_seconds"] == 8


def test_course_completes_with_quiz_and_issues_certificate_once(client, learner_in_lesson, clock):
    from lms.learning.models import Certificate
    from lms.learning.signals import course_completed

    learner, course, lesson = learner_in_lesson
    received = []

    def receiver(sender, **kw):
        received.append(kw)

    course_completed.connect(receiver)
    try:
        for seq in range(1, 8):
            clock.now += 15
            beat(client, lesson, [[(seq - 1) * 15, min(100, seq * 15)]], seq)
        assert client.get(f"/learn/lessons/{course.lessons[1].id}").status_code == 200  # text lesson
        quiz_q = course.quiz.questions[0]
        r = client.post_form(f"/learn/courses/{course.id}/quiz", {f"q{quiz_q.id}": "0"})
        assert r.status_code == 200 and "30%" not in r.get_data(as_text=True)
        assert db.session.query(Certificate).count() == 0
        r = client.post_form(f"/learn/courses/{course.id}/quiz", {f"q{quiz_q.id}": "1"})
        assert r.status_code == 302
        client.post_form(f"/learn/courses/{course.id}/quiz", {f"q{quiz_q.id}": "1"})
    finally:
        course_completed.disconnect(receiver)
    assert received == [{"course_id": course.id, "user_id": learner.id}]
    cert = db.session.query(Certificate).one()
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert cert.number in page and "李梅" in page and "<svg" in page
    public = client.get(f"/verify/{cert.code}")
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and course.title in text and learner.login_hint not in text
    assert client.get("/verify/NOPE234567").status_code == 404
    # the skills area awarded the course's skill: it shows under "my skills"
    home = client.get("/learn").get_data(as_text=True)
    assert 'class="badge done"' in home and course.skill.name in home


def test_concurrent_heartbeats_on_one_row_lose_nothing(app, client, login, learner_in_lesson, clock, monkeypatch):
    """Two tabs of one learner write the same progress row at once: the second writer's
    conditional update finds the row changed, reads it again and merges; no interval is lost and
    each (client_id, seq) still counts once."""
    import threading

    import lms.learning.services as services
    from lms.learning.models import Heartbeat, Progress

    learner, _, lesson = learner_in_lesson
    other = app.test_client()
    login(other, learner)
    token = other.csrf_token()
    clock.now += 20
    answers, updates = {}, []

    def other_tab():
        with app.app_context():
            answers["b"] = beat(other, lesson, [[10, 20]], 1, client_id="tab-b", csrf=False,
                                headers={"X-CSRFToken": token})

    class Racing:
        """Lets tab B's heartbeat commit between tab A's read and A's write."""

        def __init__(self, store):
            self.store = store

        def read(self, *args, **kwargs):
            row = self.store.read(*args, **kwargs)
            if "b" not in answers and not kwargs.get("lock"):
                answers["b"] = None
                racer = threading.Thread(target=other_tab)
                racer.start()
                racer.join()
            return row

        def insert_heartbeat(self, values):
            return self.store.insert_heartbeat(values)

        def update(self, values, version=None):
            changed = self.store.update(values, version)
            updates.append((version is not None, changed))
            return changed

    real = services.store_for
    monkeypatch.setattr(services, "store_for", lambda connection: Racing(real(connection)))
    a = beat(client, lesson, [[0, 10]], 1, client_id="tab-a")
    assert answers["b"].status_code == 200 and answers["b"].get_json()["watched_seconds"] == 10
    assert a.status_code == 200 and a.get_json()["watched_seconds"] == 20
    assert (True, 0) in updates and (False, 1) in updates  # the retry path ran
    row = db.session.query(Progress).one()
    assert row.intervals == [[0, 20]] and row.watched_seconds == 20
    monkeypatch.setattr(services, "store_for", real)
    clock.now += 15
    assert beat(client, lesson, [[30, 40]], 1, client_id="tab-a").get_json()["watched_seconds"] == 20
    assert beat(client, lesson, [[30, 40]], 1, client_id="tab-b").get_json()["watched_seconds"] == 20
    assert db.session.query(Heartbeat).count() == 2


def test_a_disabled_account_is_refused_from_its_next_heartbeat(client, learner_in_lesson, clock):
    from lms.accounts.models import User

    learner, _, lesson = learner_in_lesson
    clock.now += 15
    assert beat(client, lesson, [[0, 15]], 1).status_code == 200
    token = client.csrf_token()
    db.session.get(User, learner.id).is_active_account = False
    db.session.commit()
    clock.now += 15
    r = beat(client, lesson, [[15, 30]], 2, csrf=False, headers={"X-CSRFToken": token})
    assert r.status_code == 401
