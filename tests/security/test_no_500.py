"""No 500 from input (issue 11, item 9), through HTTP: integers too large for the database in URLs
and JSON, lone surrogates, deep nesting, non-object JSON, booleans posing as numbers, and
concurrent PUTs of an upload's last piece."""
from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from media.models import Asset, AssetStatus

HUGE = "9" * 25
JUST_OVER = str(2**63)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def learner(client, make_user, login):
    login(client, make_user("learner"))
    return client


@pytest.fixture
def trainer(client, make_user, login):
    login(client, make_user("trainer"))
    return client


@pytest.fixture
def admin(client, make_user, login):
    login(client, make_user("admin"))
    return client


@pytest.mark.parametrize("path", [
    f"/learn/lessons/{HUGE}", f"/learn/lessons/{JUST_OVER}", f"/learn/courses/{HUGE}",
    f"/media/{HUGE}", f"/media/api/uploads/{JUST_OVER}", f"/media/files/{HUGE}/v1/master.m3u8",
    f"/media/files/1/v{HUGE}/master.m3u8", f"/teach/courses/{HUGE}", f"/households/import/{HUGE}",
    f"/households/{HUGE}",
])
def test_integers_too_large_in_urls_are_404(admin, path):
    response = admin.get(path)
    assert response.status_code == 404, (path, response.status_code)


@pytest.mark.parametrize("path", [f"/learn/lessons/{2**31}", f"/learn/lessons/{2**63 - 1}",
                                  f"/media/files/{2**31}/v1/master.m3u8"])
def test_an_id_too_large_for_a_postgresql_integer_is_404_on_every_database(admin, path):
    # Ids are 32-bit integers on PostgreSQL: a larger one is no id at all, on SQLite too.
    response = admin.get(path)
    assert response.status_code == 404, response.status_code


def test_a_heartbeat_for_a_lesson_id_too_large_for_postgresql_is_refused_as_no_lesson(learner):
    body = '{"lesson": %d, "client_id": "c1", "seq": 1, "position": 0, "intervals": []}' % 2**31
    response = heartbeat(learner, body)
    assert response.status_code == 400 and response.get_json()["error"] == "lesson"


@pytest.mark.parametrize("query", [f"/admin/audit?page={HUGE}", f"/admin/audit?actor={HUGE}",
                                   f"/search?q=x&page={HUGE}", f"/media/api/status?ids=1,{HUGE},²,-3"])
def test_integers_too_large_in_query_strings_are_not_500(admin, query):
    assert admin.get(query).status_code in (200, 400, 404), query


def heartbeat(client, body: str | bytes, content_type="application/json"):
    return client.post("/api/v1/progress", data=body, content_type=content_type,
                       headers={"X-CSRFToken": client.csrf_token()})


GOOD = '{"lesson": 1, "client_id": "c1", "seq": 1, "position": 0, "intervals": []}'


@pytest.mark.parametrize("body", [
    '{"lesson": %s, "client_id": "c1", "seq": 1, "position": 0, "intervals": []}' % HUGE,
    '{"lesson": %s, "client_id": "c1", "seq": 1}' % JUST_OVER,
    '{"lesson": 1, "client_id": "c1", "seq": %s}' % HUGE,
    '{"lesson": 1, "client_id": "\\ud800", "seq": 1}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "\\udfff": 1}',
    "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    "[]", '"lesson"', "1", "null", "true", "",
    '{"lesson": true, "client_id": "c1", "seq": 1}', '{"lesson": 1, "client_id": "c1", "seq": true}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "position": true}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "position": NaN}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "position": Infinity}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "intervals": [[true, 5]]}',
    '{"lesson": 1, "client_id": "c1", "seq": 1, "intervals": [[0, 1e400]]}',
    b'{"lesson": 1, "client_id": "\xff\xfe", "seq": 1}',
])
def test_bad_heartbeat_bodies_are_400_with_a_json_error(learner, body):
    response = heartbeat(learner, body)
    assert response.status_code in (400, 404), (body[:60], response.status_code)
    assert response.is_json


def test_a_good_heartbeat_shape_for_a_missing_lesson_is_404(learner):
    response = heartbeat(learner, GOOD)
    assert response.status_code == 404 and response.is_json


def start(client, payload):
    return client.post("/media/api/uploads", data=payload, content_type="application/json",
                       headers={"X-CSRFToken": client.csrf_token()})


@pytest.mark.parametrize("payload", [
    "[]", '"x"', "3", "null", '{"title": "\\ud800", "filename": "a.mp4", "size": 10}',
    '{"title": "x", "filename": "\\udc00.mp4", "size": 10}', '{"size": true}', '{"size": false}',
    '{"size": "10"}', '{"size": %s}' % HUGE, '{"size": -1}', '{"size": 1.5}', "{" * 4000,
    '{"a":' * 100 + "1" + "}" * 100,
])
def test_bad_upload_starts_are_refused_and_nothing_is_created(trainer, payload):
    response = start(trainer, payload)
    assert 400 <= response.status_code < 500, (payload[:40], response.status_code)
    assert response.is_json and count(Asset) == 0


@pytest.mark.parametrize("offset", ["", "-1", "²", "1e3", HUGE, "0x10", "+5"])
def test_bad_upload_offsets_are_400(trainer, offset):
    created = start(trainer, '{"title": "x", "filename": "a.mp4", "size": 10}')
    response = trainer.put(created.json["url"], data=b"0123456789", headers={
        "Upload-Offset": offset, "Chunk-SHA256": hashlib.sha256(b"0123456789").hexdigest(),
        "X-CSRFToken": trainer.csrf_token(), "Content-Type": "application/octet-stream"})
    assert response.status_code in (400, 409), (offset, response.status_code)


def test_concurrent_puts_of_the_last_piece_one_succeeds_the_others_409(app, make_user, login, monkeypatch):
    from media import services

    monkeypatch.setattr(services, "_queue_transcode", lambda asset_id: None)
    # The bytes are not a recording: skip the probe, queue as a good file would be.
    monkeypatch.setattr(services, "submit", lambda asset, enqueue=True: services._queue(asset, enqueue=False))
    user = make_user("trainer")
    clients = [login(app.test_client(), user) for _ in range(4)]
    data = b"x" * 2000
    created = start(clients[0], '{"title": "x", "filename": "a.mp4", "size": 2000}')
    url = created.json["url"]
    first = clients[0].put(url, data=data[:1000], headers={
        "Upload-Offset": "0", "Chunk-SHA256": hashlib.sha256(data[:1000]).hexdigest(),
        "X-CSRFToken": clients[0].csrf_token(), "Content-Type": "application/octet-stream"})
    assert first.status_code == 200
    tokens = [c.csrf_token() for c in clients]
    barrier, results = threading.Barrier(len(clients)), [None] * len(clients)

    def last_piece(i):
        with app.app_context():  # the test client commits the caller's session first
            barrier.wait()
            results[i] = clients[i].put(url, data=data[1000:], headers={
                "Upload-Offset": "1000", "Chunk-SHA256": hashlib.sha256(data[1000:]).hexdigest(),
                "X-CSRFToken": tokens[i], "Content-Type": "application/octet-stream"})
            db.session.remove()

    threads = [threading.Thread(target=last_piece, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * (len(clients) - 1), statuses
    assert all(r.json["offset"] == 2000 for r in results if r.status_code == 409)
    db.session.expire_all()
    asset = db.session.get(Asset, created.json["id"])
    assert asset.status != AssetStatus.uploading and asset.upload_offset == 2000


def test_lone_surrogates_in_form_fields_are_not_500(trainer):
    # Browsers send UTF-8; a lone surrogate cannot be encoded, so it arrives as these bytes.
    response = trainer.post("/teach/courses/new", data=b"title=%ED%A0%80&csrf_token=" + trainer.csrf_token().encode(),
                            content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500


def test_forms_with_huge_or_odd_numbers_are_refused_with_a_message(app, client, make_user, login):
    from courses import services
    from courses.models import Lesson, Programme, Question, Skill

    services.seed_catalogue()
    db.session.commit()
    user = make_user("trainer")
    login(client, user)
    programme = db.session.scalar(select(Programme).limit(1))
    skill = db.session.scalar(select(Skill).limit(1))
    course = services.save_course(user, None, title="课", summary="", programme_id=programme.id, skill_id=skill.id)
    db.session.commit()
    for asset in (HUGE, JUST_OVER, "²", "-5", "1e9", "true"):
        response = client.post_form(f"/teach/courses/{course.id}/lessons",
                                    {"title": "x", "kind": "video", "asset": asset}, follow_redirects=True)
        assert response.status_code == 200 and "只能使用您自己上传的媒体文件" in response.get_data(as_text=True), asset
    for count_field in (HUGE, "abc", "-1", "²"):
        response = client.post_form(f"/teach/courses/{course.id}/quiz", {
            "count": count_field, "text0": "题", "choice0_0": "对", "choice0_1": "错", "answer0": "0",
            "audio0": HUGE, "pass_mark": "60"})
        assert response.status_code < 500, count_field
    response = client.post_form(f"/teach/courses/{course.id}/quiz", {
        "count": "1", "text0": "题", "choice0_0": "对", "choice0_1": "错", "answer0": "0",
        "audio0": HUGE, "pass_mark": "60"})
    assert response.status_code == 400 and "第 1 题的语音题目只能使用您自己上传的媒体文件" in response.get_data(as_text=True)
    assert count(Lesson) == 0 and count(Question) == 0
