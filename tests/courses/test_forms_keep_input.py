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
