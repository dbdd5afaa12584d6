"""Media only for whom may watch it (issue 11, item 5), attacked through HTTP.

An asset's playlists, MP4, audio and poster are served to its owner, admins, and people who may
open a page that shows it (a published course offered in their region); anyone else gets 404,
through Flask. A signed link (the WSGI fast path) opens the init and segment files of one rung of
one version and nothing else. A lesson or quiz prompt may use only its trainer's own ready media.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.extensions import db

VILLAGE_1, VILLAGE_2 = "621123100201", "621123100202"


def fetch(client, url, **kwargs):
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def _links(playlist: bytes) -> list[str]:
    text = playlist.decode()
    return re.findall(r'URI="([^"]+)"', text) + [line for line in text.splitlines() if line and line[0] != "#"]


@pytest.fixture
def world(app, regions, make_user, make_ready_asset, login):
    """Trainer A's video in a course offered in village 1 only; trainer B; learners of villages 1
    and 2; an admin; an anonymous client. Clients are signed in through the real forms."""
    from courses import services
    from courses.models import Programme, Skill

    services.seed_catalogue()
    db.session.commit()
    trainer_a, trainer_b = make_user("trainer"), make_user("trainer")
    asset = make_ready_asset(owner=trainer_a)
    audio = make_ready_asset(kind="audio", owner=trainer_a)
    unused = make_ready_asset(owner=trainer_a)
    programme = db.session.scalar(select(Programme).limit(1))
    skill = db.session.scalar(select(Skill).limit(1))
    course = services.save_course(trainer_a, None, title="果树修剪", summary="", programme_id=programme.id,
                                  skill_id=skill.id, regions=[VILLAGE_1])
    services.add_lesson(trainer_a, course, title="第一课", kind="video", asset_id=asset.id)
    services.set_quiz(trainer_a, course, 0.6, [{"text": "听一听", "choices": ["对", "错"], "answer": [0],
                                                 "audio_asset_id": audio.id}])
    services.publish(trainer_a, course)
    other_course = services.save_course(trainer_b, None, title="养殖", summary="", programme_id=programme.id,
                                        skill_id=skill.id)
    db.session.commit()
    people = {"owner": trainer_a, "trainer_b": trainer_b, "learner_1": make_user("learner", VILLAGE_1),
              "learner_2": make_user("learner", VILLAGE_2), "admin": make_user("admin")}
    clients = {"anonymous": app.test_client()}
    for name, user in people.items():
        clients[name] = login(app.test_client(), user)
    return {"asset": asset, "audio": audio, "unused": unused, "course": course, "other_course": other_course,
            "clients": clients, "people": people}


def _files(asset_id: int) -> dict[str, str]:
    from media.queries import playback

    info = playback(asset_id)
    return {"master": info["master"], "variant": info["variants"][0]["url"], "mp4": info["mp4"],
            "audio": info["audio"], "poster": info["poster"]}


MAY_WATCH = {"owner", "admin", "learner_1"}


@pytest.mark.parametrize("who", ["owner", "admin", "learner_1", "learner_2", "trainer_b", "anonymous"])
def test_each_file_of_an_asset_only_for_whom_may_watch_it(world, who):
    client = world["clients"][who]
    for kind, url in _files(world["asset"].id).items():
        response = fetch(client, url)
        expected = 200 if who in MAY_WATCH else 404
        assert response.status_code == expected, (who, kind, url)
        if expected == 404:
            assert b"#EXTM3U" not in response.data and b"ftyp" not in response.data and b"JFIF" not in response.data


@pytest.mark.parametrize("who", ["learner_1", "learner_2", "trainer_b", "anonymous"])
def test_an_asset_no_page_shows_is_for_its_owner_and_admins_only(world, who):
    for url in _files(world["unused"].id).values():
        assert fetch(world["clients"][who], url).status_code == 404, (who, url)
    assert fetch(world["clients"]["owner"], _files(world["unused"].id)["master"]).status_code == 200


def test_a_quiz_prompt_is_for_the_learners_of_its_course(world):
    from media.queries import playback

    master = playback(world["audio"].id)["master"]
    assert fetch(world["clients"]["learner_1"], master).status_code == 200
    assert fetch(world["clients"]["learner_2"], master).status_code == 404


def test_unpublishing_takes_the_files_away_at_once(world):
    from courses import services

    url = _files(world["asset"].id)["master"]
    assert fetch(world["clients"]["learner_1"], url).status_code == 200
    services.publish(world["people"]["owner"], world["course"], False)
    db.session.commit()
    assert fetch(world["clients"]["learner_1"], url).status_code == 404
    assert fetch(world["clients"]["owner"], url).status_code == 200  # a preview of one's own course


def test_a_signed_link_opens_one_rung_and_nothing_else(world, app):
    """Through the fast path, anonymously (the token is the permission): rung A's link opens rung
    A's init and segments; with the same token, rung B's files, the poster, the MP4 and the
    playlists are refused."""
    anonymous = world["clients"]["anonymous"]
    files = _files(world["asset"].id)
    variant = fetch(world["clients"]["learner_1"], files["variant"])
    urls = _links(variant.data)
    assert urls and all(fetch(anonymous, u).status_code == 200 for u in urls)
    m = re.match(r"^(/media/s/\d+-[\w-]{22}/\d+/v1/)144p/(seg_\d+\.m4s)$", urls[-1])
    assert m, urls[-1]
    prefix, segment = m.groups()
    init = urls[0].rsplit("/", 1)[1]
    refused = [prefix + f"audio/{segment}", prefix + f"audio/{init}", prefix + "poster.jpg",
               prefix + "video.mp4", prefix + "master.m3u8", prefix + "144p/index.m3u8",
               prefix + "audio/index.m3u8", prefix + "144p/../poster.jpg", prefix + "144p/../../source.mp4"]
    for url in refused:
        response = fetch(anonymous, url)
        assert response.status_code in (403, 404), url
        assert b"ftyp" not in response.data and b"moof" not in response.data and b"#EXTM3U" not in response.data
    # Rung B's own link works: it was signed for rung B.
    audio_variant = fetch(world["clients"]["learner_1"], files["audio"])
    assert all(fetch(anonymous, u).status_code == 200 for u in _links(audio_variant.data))


def _lesson_count() -> int:
    from courses.models import Lesson

    return db.session.scalar(select(func.count()).select_from(Lesson))


def test_a_lesson_with_another_trainers_media_is_refused_and_nothing_saved(world):
    client, course = world["clients"]["trainer_b"], world["other_course"]
    before = _lesson_count()
    response = client.post_form(f"/teach/courses/{course.id}/lessons",
                                {"title": "借用", "kind": "video", "asset": str(world["asset"].id), "required": "1"},
                                follow_redirects=True)
    assert "只能使用您自己上传的录像" in response.get_data(as_text=True)
    assert _lesson_count() == before
    # The admin may use anyone's media.
    admin = world["clients"]["admin"]
    admin.post_form(f"/teach/courses/{course.id}/lessons",
                    {"title": "管理员添加", "kind": "video", "asset": str(world["asset"].id), "required": "1"})
    assert _lesson_count() == before + 1


def test_a_quiz_prompt_with_another_trainers_media_is_refused_and_nothing_saved(world):
    from courses.models import Question

    client, course = world["clients"]["trainer_b"], world["other_course"]
    before = db.session.scalar(select(func.count()).select_from(Question))
    response = client.post_form(f"/teach/courses/{course.id}/quiz", {
        "count": "1", "text0": "听一听", "choice0_0": "对", "choice0_1": "错", "answer0": "0",
        "audio0": str(world["audio"].id), "pass_mark": "60"})
    assert response.status_code == 400
    assert "第 1 题的语音题目只能使用您自己上传的录像" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Question)) == before
