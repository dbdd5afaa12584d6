from sqlalchemy import select

from lms.extensions import db


def test_trainer_builds_publishes_and_previews_a_course(client, login, make_user, catalogue, fake_media):
    from courses.models import Course, Programme, Skill

    trainer = make_user("trainer", display_name="马师傅")
    login(client, trainer)
    fake_media[7] = 60.0
    programme = db.session.scalar(select(Programme).where(Programme.code == "tongxin"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "welding"))
    r = client.post_form("/teach/courses/new", {"title": "电焊入门", "summary": "安全第一",
                                                "programme": programme.id, "skill": skill.id, "regions": ""})
    assert r.status_code == 302
    course = db.session.scalar(select(Course))
    assert course.trainers == [trainer] and not course.published
    # not published yet: publishing without lessons is refused with a message
    r = client.post_form(f"/teach/courses/{course.id}/publish", {"published": "1"}, follow_redirects=True)
    assert "至少" in r.get_data(as_text=True) or "at least one lesson" in r.get_data(as_text=True)
    assert client.post_form(f"/teach/courses/{course.id}/lessons",
                            {"title": "焊前准备", "kind": "video", "asset": "7", "required": "1"}).status_code == 302
    assert client.post_form(f"/teach/courses/{course.id}/lessons",
                            {"title": "安全须知", "kind": "text", "body": "戴好面罩"}).status_code == 302
    # a lesson whose media does not exist is refused and nothing is added
    r = client.post_form(f"/teach/courses/{course.id}/lessons", {"title": "坏的", "kind": "video", "asset": "999"})
    assert r.status_code == 400 and 'value="坏的"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert [ls.title for ls in course.lessons] == ["焊前准备", "安全须知"]
    assert course.lessons[0].duration == 60.0 and not course.lessons[1].required
    # reorder
    client.post_form(f"/teach/lessons/{course.lessons[1].id}/move", {"dir": "up"})
    db.session.expire_all()
    assert [ls.title for ls in course.lessons] == ["安全须知", "焊前准备"]
    # quiz: one single, one multiple choice
    r = client.post_form(f"/teach/courses/{course.id}/quiz", {
        "count": "3", "pass_mark": "50",
        "text0": "焊接时戴什么?", "choice0_0": "面罩", "choice0_1": "草帽", "answer0": "0",
        "text1": "哪些是安全做法?", "choice1_0": "通风", "choice1_1": "绝缘手套", "choice1_2": "赤脚",
        "answer1": ["0", "1"]})
    assert r.status_code == 302
    db.session.expire_all()
    assert [q.multiple for q in course.quiz.questions] == [False, True] and course.quiz.pass_mark == 0.5
    # preview as a learner before publishing
    assert "电焊入门" in client.get(f"/learn/courses/{course.id}").get_data(as_text=True)
    assert client.post_form(f"/teach/courses/{course.id}/publish", {"published": "1"}).status_code == 302
    db.session.expire_all()
    assert course.published
    from lms.audit.models import AuditEntry

    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"course.create", "lesson.add", "lesson.move", "quiz.save", "course.publish"} <= actions


def test_other_trainers_cannot_edit(client, login, make_user, make_course):
    course = make_course()
    login(client, make_user("trainer"))
    assert client.get(f"/teach/courses/{course.id}").status_code == 404
    assert client.post_form(f"/teach/courses/{course.id}/publish", {"published": "0"}).status_code == 404


def test_learners_cannot_author(client, login, make_user, make_course, regions):
    course = make_course()
    login(client, make_user("learner", region_code="621123100201"))
    assert client.get("/teach").status_code == 403
    assert client.get(f"/teach/courses/{course.id}").status_code == 403


def test_region_availability(client, login, make_user, make_course, regions):
    everywhere = make_course(title="到处都有")
    weiyuan = make_course(title="渭源县专供", regions=("621123000000",))
    draft = make_course(title="草稿课程", published=False)
    inside = make_user("learner", region_code="621123100201")
    outside = make_user("learner", region_code="621102100201")
    login(client, inside)
    page = client.get("/learn/courses").get_data(as_text=True)
    assert "到处都有" in page and "渭源县专供" in page and "草稿课程" not in page
    assert client.get(f"/learn/courses/{draft.id}").status_code == 404
    client.post_form("/signout")
    login(client, outside)
    page = client.get("/learn/courses").get_data(as_text=True)
    assert "到处都有" in page and "渭源县专供" not in page
    assert client.get(f"/learn/courses/{weiyuan.id}").status_code == 404
    assert client.get(f"/learn/courses/{everywhere.id}").status_code == 200


def test_enrolment_and_continue_where_stopped(client, login, make_user, make_course, regions):
    from courses.models import Enrolment

    course = make_course(lessons=(("video", 30.0), ("text", "第二课")))
    learner = make_user("learner", region_code="621123100201")
    login(client, learner)
    r = client.post_form(f"/learn/courses/{course.id}/enrol")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/learn/lessons/{course.lessons[0].id}")
    assert db.session.scalar(select(Enrolment.user_id)) == learner.id
    client.get(f"/learn/lessons/{course.lessons[1].id}")
    home = client.get("/learn").get_data(as_text=True)
    # Continue with the unfinished lesson (the text lesson just opened is complete).
    assert f'href="/learn/lessons/{course.lessons[0].id}">继续学习' in home
    assert "牛肉拉面" in home or "烹饪" in home


def test_trainer_sees_learner_progress(client, login, make_user, make_course, regions):
    trainer = make_user("trainer")
    course = make_course(trainer=trainer, lessons=(("text", "读一读"),))
    learner = make_user("learner", region_code="621123100201", display_name="王芳")
    login(client, learner)
    client.get(f"/learn/lessons/{course.lessons[0].id}")
    client.post_form("/signout")
    login(client, trainer)
    page = client.get(f"/teach/courses/{course.id}/progress").get_data(as_text=True)
    assert "王芳" in page and "✔" in page


def test_assets_in_use_lists_the_lessons(make_course, fake_media):
    from courses.services import assets_in_use

    course = make_course()
    assert assets_in_use(course.lessons[0].asset_id) == [f"{course.title} / {course.lessons[0].title}"]
    assert assets_in_use(424242) == []


def test_learner_pages_link_existing_versioned_static_files(client, login, make_user, make_course, regions):
    import re

    course = make_course()
    login(client, make_user("learner", region_code="621123100201"))
    pages = [client.get(u).get_data(as_text=True)
             for u in ("/learn", "/learn/courses", f"/learn/lessons/{course.lessons[0].id}")]
    urls = {u for page in pages for u in re.findall(r'(?:src|href)="(/static/[^"#]+)', page)}
    assert any("queue.js" in u for u in urls) and any("player.js" in u for u in urls)
    assert any("icons.svg" in u for u in urls)
    for url in urls:
        if "/vendor/" in url:
            continue  # copied from npm by make assets
        assert not url.endswith("v=0"), url
        with client.get(url) as r:
            assert r.status_code == 200, url
            assert "immutable" in r.headers.get("Cache-Control", ""), url


def test_lesson_page_fetches_the_players_first_files_early(client, login, make_user, make_course, regions):
    """On a 200 ms link each step of master → rung playlist costs a round trip; the page names them
    up front, with the very URLs the player asks for, so the browser reuses them. The player script
    is not among them (see test_home_and_catalogue_prefetch_the_player_script)."""
    import re

    course = make_course()
    login(client, make_user("learner", region_code="621123100201"))
    page = client.get(f"/learn/lessons/{course.lessons[0].id}").get_data(as_text=True)
    preloads = dict((href, kind) for href, kind in re.findall(r'<link rel="preload" href="([^"]+)" as="(\w+)"', page))
    asset_id = course.lessons[0].asset_id
    assert preloads == {f"/m/{asset_id}/master.m3u8": "fetch",
                        f"/m/{asset_id}/144p.m3u8": "fetch"}  # the lowest video rung, where playback starts
    assert f'data-master="/m/{asset_id}/master.m3u8"' in page


def test_text_lesson_page_preloads_nothing(client, login, make_user, make_course, regions):
    course = make_course(lessons=(("text", None),))
    login(client, make_user("learner", region_code="621123100201"))
    page = client.get(f"/learn/lessons/{course.lessons[0].id}").get_data(as_text=True)
    assert 'rel="preload"' not in page


def test_quiz_question_with_picture_and_spoken_prompt(client, login, make_user, make_course, fake_media, regions):
    import io

    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    fake_media[55] = 5.0
    login(client, trainer)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = client.post_form(f"/teach/courses/{course.id}/quiz", {
        "count": "1", "pass_mark": "100", "text0": "这是什么工具?", "choice0_0": "焊枪", "choice0_1": "锄头",
        "answer0": "0", "audio0": "55", "image0": (io.BytesIO(png), "tool.png")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.expire_all()
    question = course.quiz.questions[0]
    assert question.image_path.endswith(".png") and question.audio_asset_id == 55
    # not a picture: refused, the quiz unchanged
    r = client.post_form(f"/teach/courses/{course.id}/quiz", {
        "count": "1", "pass_mark": "100", "text0": "换题", "choice0_0": "a", "choice0_1": "b", "answer0": "0",
        "image0": (io.BytesIO(b"not an image"), "x.png")}, content_type="multipart/form-data")
    assert r.status_code == 400
    db.session.expire_all()
    assert course.quiz.questions[0].text == "这是什么工具?"
    client.post_form("/signout")
    login(client, make_user("learner", region_code="621123100201"))
    page = client.get(f"/learn/courses/{course.id}/quiz").get_data(as_text=True)
    assert f"/learn/questions/{question.id}/image" in page and "/m/55/240p.mp4" in page
    with client.get(f"/learn/questions/{question.id}/image") as img:
        assert img.status_code == 200 and img.data == png


def test_home_and_catalogue_prefetch_the_player_script(client, login, make_user, make_course, regions):
    """The 120 KB player script is fetched while the learner browses, not before the first frame;
    home, catalogue, lesson and quiz name the one same versioned URL (cached immutable)."""
    import re

    course = make_course()
    login(client, make_user("learner", region_code="621123100201"))
    lesson = client.get(f"/learn/lessons/{course.lessons[0].id}").get_data(as_text=True)
    player = re.search(r'data-hls-src="([^"]+)"', lesson).group(1)
    assert player.startswith("/static/vendor/hls.light.min.js?v=")
    assert 'as="script"' not in lesson
    for path in ("/learn", "/learn/courses"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(rf'<script src="/static/learning/prefetch.js\?v=\w+" data-src="{re.escape(player)}" defer>',
                         page), path
