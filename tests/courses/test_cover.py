"""A course's cover is the poster of one of the trainer's ready videos; learners see it on the course page."""
from sqlalchemy import select

from lms.extensions import db


def _form(programme, skill, **extra):
    return {"title": "电焊入门", "summary": "安全第一", "programme": programme.id, "skill": skill.id,
            "regions": "", **extra}


def test_trainer_picks_a_cover_and_learners_see_it(client, login, make_user, catalogue, make_ready_asset, regions):
    from courses.models import Course, Programme, Skill

    trainer = make_user("trainer")
    video = make_ready_asset("焊接示范", owner=trainer)
    login(client, trainer)
    programme = db.session.scalar(select(Programme).where(Programme.code == "tongxin"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "welding"))
    form = client.get("/teach/courses/new").get_data(as_text=True)
    assert f'<option value="{video.id}"' in form and "焊接示范" in form
    assert client.post_form("/teach/courses/new", _form(programme, skill, cover=video.id)).status_code == 302
    course = db.session.scalar(select(Course))
    assert course.cover_asset_id == video.id
    # media refuses to delete a video that is a course's cover
    from courses.services import assets_in_use

    assert assets_in_use(video.id) == ["电焊入门"]
    page = client.get(f"/learn/courses/{course.id}").get_data(as_text=True)  # trainer's preview
    poster = f"/media/files/{video.id}/v1/poster.jpg"
    assert f'<img class="cover" src="{poster}"' in page
    with client.get(poster) as r:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
    # cleared again: the skill icon stands in
    assert client.post_form(f"/teach/courses/{course.id}/edit", _form(programme, skill, cover="")).status_code == 302
    db.session.expire_all()
    assert course.cover_asset_id is None
    assert 'class="cover"' not in client.get(f"/learn/courses/{course.id}").get_data(as_text=True)


def test_another_trainers_video_is_refused_as_cover(client, login, make_user, catalogue, make_ready_asset):
    from courses.models import Course, Programme, Skill

    theirs = make_ready_asset("别人的课", owner=make_user("trainer"))
    login(client, make_user("trainer"))
    programme = db.session.scalar(select(Programme).where(Programme.code == "tongxin"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "welding"))
    r = client.post_form("/teach/courses/new", _form(programme, skill, cover=theirs.id))
    assert r.status_code == 400 and "封面" in r.get_data(as_text=True)
    assert db.session.scalar(select(Course)) is None
