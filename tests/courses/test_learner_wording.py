"""Chinese learner pages use full-width punctuation (：（）) in Chinese text."""
import re

from lms.extensions import db

PDF = b"%PDF-1.4\n% a feeding schedule\n"
HAN = "\u4e00-\u9fff"
# An ASCII colon or parenthesis touching a Chinese character in the visible text.
HALF_WIDTH = re.compile(rf"[{HAN}][ ]?[:()]|[:()][ ]?[{HAN}]")


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def test_learner_pages_use_full_width_punctuation(client, login, make_user, make_course, fake_media, regions):
    from courses import services
    from lms.learning.services import issue_certificate

    trainer = make_user("trainer", display_name="马师傅")
    course = make_course(trainer=trainer, title="生猪养殖", lessons=(("video", 100.0), ("text", "要点")),
                         quiz=(1.0, [{"text": "哪些要消毒?", "choices": ["猪舍", "食槽"], "answer": [0, 1]}]))
    pdf = services.add_lesson(trainer, course, title="喂养时间表", kind="document", document=PDF)
    db.session.commit()
    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    cert = issue_certificate(learner.id, course)
    db.session.commit()
    pages = {}
    for path in ("/signin", "/households/link", "/households/register?village=621123100201"):
        pages[path] = client.get(path).get_data(as_text=True)
    login(client, learner)
    client.post_form(f"/learn/courses/{course.id}/enrol")
    for path in ("/learn", "/learn/courses", f"/learn/courses/{course.id}", f"/learn/lessons/{course.lessons[0].id}",
                 f"/learn/lessons/{pdf.id}", f"/learn/courses/{course.id}/quiz", f"/certificates/{cert.id}",
                 "/search?q=养殖"):
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.get_data(as_text=True)
    found = {path: HALF_WIDTH.findall(_visible(html)) for path, html in pages.items()}
    assert {p: f for p, f in found.items() if f} == {}
    # The places that used to put a half-width colon or brackets after Chinese words:
    assert "下一课：第2课" in _visible(pages[f"/learn/lessons/{course.lessons[0].id}"])
    assert "培训老师：马师傅" in _visible(pages[f"/learn/courses/{course.id}"])
    assert "（选出所有正确的答案）" in _visible(pages[f"/learn/courses/{course.id}/quiz"])
    assert "所在村：" in _visible(pages["/households/register?village=621123100201"])
    assert "查验码：" in _visible(pages[f"/certificates/{cert.id}"])


def test_see_all_courses_is_a_button(client, login, make_user, make_course, regions):
    make_course()
    login(client, make_user("learner", region_code="621123100201"))
    home = client.get("/learn").get_data(as_text=True)
    assert '<a class="btn" href="/learn/courses">查看全部课程</a>' in home
