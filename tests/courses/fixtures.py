import pytest

from lms.extensions import db


@pytest.fixture
def catalogue(app):
    from courses.services import seed_catalogue

    seed_catalogue()
    db.session.commit()


@pytest.fixture
def fake_media(monkeypatch):
    """Ready assets without transcoding, for tests about courses rather than media.

    ``fake_media[asset_id] = duration`` makes an asset ready with that duration.
    """
    assets: dict[int, float] = {}

    def playback(asset_id):
        if asset_id not in assets:
            return None
        return {"status": "ready", "duration": assets[asset_id], "master": f"/m/{asset_id}/master.m3u8",
                "mp4": f"/m/{asset_id}/240p.mp4", "audio": f"/m/{asset_id}/audio.m3u8",
                "poster": f"/m/{asset_id}/poster.jpg",
                "variants": [{"name": name, "kind": kind, "bandwidth": bandwidth, "url": f"/m/{asset_id}/{name}.m3u8"}
                             for name, kind, bandwidth in (("audio", "audio", 40_000), ("144p", "video", 150_000),
                                                           ("360p", "video", 600_000))]}

    import courses.playback

    monkeypatch.setattr(courses.playback, "playback", playback)
    monkeypatch.setattr("courses.services.playback", playback)
    monkeypatch.setattr("lms.learning.pages.playback", playback)
    # The trainer of a test course owns its fake media (the ownership rule is tests/security's).
    monkeypatch.setattr("courses.services.may_use", lambda actor, asset_id: asset_id in assets)
    return assets


@pytest.fixture
def make_course(app, catalogue, fake_media, make_user):
    from courses import services
    from courses.models import Programme, Skill
    from sqlalchemy import select

    def make(trainer=None, title="牛肉拉面入门", skill="cooking.lamian", regions=(), lessons=(("video", 100.0),),
             quiz=None, published=True):
        trainer = trainer or make_user("trainer", display_name="马师傅")
        programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
        skill_row = db.session.scalar(select(Skill).where(Skill.code == skill))
        course = services.save_course(trainer, None, title=title, summary="", programme_id=programme.id,
                                      skill_id=skill_row.id, regions=regions)
        for n, (kind, value) in enumerate(lessons, start=1):
            if kind in ("video", "audio"):
                asset_id = 1000 + len(fake_media) + 1
                fake_media[asset_id] = value
                services.add_lesson(trainer, course, title=f"第{n}课", kind=kind, asset_id=asset_id)
            else:
                services.add_lesson(trainer, course, title=f"第{n}课", kind=kind, body=value or "正文")
        if quiz:
            services.set_quiz(trainer, course, quiz[0], quiz[1])
        if published:
            services.publish(trainer, course, True)
        db.session.commit()
        return course

    return make


@pytest.fixture(autouse=True)
def _fresh_lesson_cache():
    """SQLite reuses ids after each test empties the tables: forget cached lesson facts."""
    from lms.learning import services

    services._LESSON_CACHE.clear()
    yield
    services._LESSON_CACHE.clear()
