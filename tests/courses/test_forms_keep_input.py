"""A trainer's form that fails comes back with everything typed and the faulty field marked;
nothing is saved."""
from lms.extensions import db


def _quiz_form(**extra):
    data = {"count": "3", "pass_mark": "70",
            "text0": "面要揉多久？", "choice0_0": "5 分钟", "choice0_1": "20 分钟", "answer0": "1",
            "text1": "拉面用什么面粉？", "choice1_0": "高筋面粉", "choice1_1": "低筋面粉",  # no right answer ticked
            "text2": "", "choice2_0": "", "choice2_1": ""}
    data.update(extra)
    return data


def test_quiz_editor_keeps_every_question_when_one_is_wrong(client, login, make_user, make_course):
    trainer = make_user("trainer")
    course = make_course(trainer=trainer, quiz=(0.6, [{"text": "旧题", "choices": ["甲", "乙"], "answer": [0]}]))
    login(client, trainer)
    response = client.post_form(f"/teach/courses/{course.id}/quiz", _quiz_form())
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for typed in ("面要揉多久？", "5 分钟", "20 分钟", "拉面用什么面粉？", "高筋面粉", "低筋面粉", 'value="70"'):
        assert typed in page, typed
    assert 'name="answer0" value="1" checked' in page
    # the second question is marked, with the message beside it
    assert 'aria-describedby="question1-error"' in page
    assert '<p class="error" id="question1-error" role="alert">请标出第 2 题的正确答案。</p>' in page
    assert 'aria-invalid="true" aria-describedby="question0-error"' not in page
    db.session.expire_all()
    assert [q.text for q in course.quiz.questions] == ["旧题"] and course.quiz.pass_mark == 0.6


def test_quiz_editor_keeps_input_when_the_pass_mark_is_not_a_number(client, login, make_user, make_course):
    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    form = _quiz_form(pass_mark="abc", answer1="0")
    response = client.post_form(f"/teach/courses/{course.id}/quiz", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="abc"' in page and 'id="pass_mark-error"' in page and "拉面用什么面粉？" in page
    assert "could not convert" not in page
    db.session.expire_all()
    assert course.quiz is None


def test_quiz_editor_numbers_errors_as_the_form_does(client, login, make_user, make_course):
    """An empty first slot is skipped, yet the message names the question where the trainer typed it."""
    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    form = {"count": "3", "pass_mark": "60", "text0": "", "text1": "只有一个选项", "choice1_0": "甲", "answer1": "0"}
    page = client.post_form(f"/teach/courses/{course.id}/quiz", form).get_data(as_text=True)
    assert '<p class="error" id="question1-error" role="alert">第 2 题至少需要两个选项。</p>' in page
    assert "只有一个选项" in page


def test_course_form_keeps_what_was_typed_and_marks_the_region(client, login, make_user, make_course, regions):
    from courses.models import Course

    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    response = client.post_form(f"/teach/courses/{course.id}/edit", {
        "title": "新的标题", "summary": "新的简介", "programme": str(course.programme_id),
        "skill": str(course.skill_id), "regions": "621123000000 999999999999", "cover": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="新的标题"' in page and "新的简介" in page
    assert 'aria-invalid="true" aria-describedby="regions-error"' in page and 'id="regions-error"' in page
    assert '<input type="checkbox" name="regions" value="621123000000" checked> 渭源县</label>' in page
    db.session.expire_all()
    assert db.session.get(Course, course.id).title == "牛肉拉面入门"


def test_course_regions_are_added_step_by_step(client, login, make_user, make_course, regions):
    from courses.models import Course

    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    page = client.get(f"/teach/courses/{course.id}/edit").get_data(as_text=True)
    assert '<option value="621123000000">渭源县</option>' in page and ">示例一村</option>" not in page
    typed = {"title": "新的标题", "summary": "", "programme": str(course.programme_id), "skill": str(course.skill_id),
             "cover": ""}
    # Without JavaScript: the county's townships, then "add" puts the township in the list; nothing saved.
    step = client.post_form(f"/teach/courses/{course.id}/edit",
                            {**typed, "region_pick": ["621123000000", ""], "region_step": "region_pick"})
    assert step.status_code == 200 and '<option value="621123100000">清源镇</option>' in step.get_data(as_text=True)
    added = client.post_form(f"/teach/courses/{course.id}/edit",
                             {**typed, "regions": "621123101000", "region_pick": ["621123000000", "621123100000"],
                              "region_add": "1"}).get_data(as_text=True)
    assert 'value="621123100000" checked> 渭源县 · 清源镇</label>' in added
    assert 'value="621123101000" checked> 渭源县 · 莲峰镇</label>' in added and 'value="新的标题"' in added
    db.session.expire_all()
    assert db.session.get(Course, course.id).title == "牛肉拉面入门"
    saved = client.post_form(f"/teach/courses/{course.id}/edit",
                             {**typed, "regions": ["621123101000", "621123100000"]})
    assert saved.status_code == 302
    db.session.expire_all()
    assert sorted(db.session.get(Course, course.id).region_codes) == ["621123100000", "621123101000"]


def test_add_lesson_form_keeps_what_was_typed(client, login, make_user, make_course):
    from courses.models import Lesson

    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    before = db.session.scalar(db.select(db.func.count(Lesson.id)))
    response = client.post_form(f"/teach/courses/{course.id}/lessons", {
        "title": "揉面的手法", "kind": "text", "body": "", "asset": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="揉面的手法"' in page and '<option value="text" selected>' in page
    assert 'id="l-body" name="body" rows="4" aria-invalid="true"' in page
    assert '<p class="error" id="body-error" role="alert">请填写课时正文。</p>' in page
    assert db.session.scalar(db.select(db.func.count(Lesson.id))) == before
    # a lesson without a title: the title is marked and the chosen kind and text stay
    page = client.post_form(f"/teach/courses/{course.id}/lessons", {
        "title": " ", "kind": "text", "body": "先把面和好"}).get_data(as_text=True)
    assert 'id="title-error"' in page and "先把面和好" in page
    assert db.session.scalar(db.select(db.func.count(Lesson.id))) == before


def test_add_lesson_form_names_the_kind_of_each_part(client, login, make_user, make_course):
    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    page = client.get(f"/teach/courses/{course.id}").get_data(as_text=True)
    assert 'data-kinds="video audio"' in page and 'data-kinds="document"' in page and "teach.js" in page
    assert "删除" in page and "移出" not in page


def test_course_form_picks_regions_and_skills_by_name(client, login, make_user, make_course, regions):
    from courses.models import Course

    trainer = make_user("trainer")
    course = make_course(trainer=trainer)
    login(client, trainer)
    page = client.get(f"/teach/courses/{course.id}/edit").get_data(as_text=True)
    assert '<option value="621123000000">渭源县</option>' in page  # the picker's first step
    assert '<optgroup label="烹饪">' in page
    response = client.post_form(f"/teach/courses/{course.id}/edit", {
        "title": "牛肉拉面入门", "programme": str(course.programme_id), "skill": str(course.skill_id),
        "regions": ["621123100201", "621123101000"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert sorted(db.session.get(Course, course.id).region_codes) == ["621123100201", "621123101000"]
    page = client.get(f"/teach/courses/{course.id}").get_data(as_text=True)
    assert "示例一村" in page and "621123100201" not in visible(page)


def visible(page):
    import re

    return re.sub(r"<[^>]+>", " ", page)
