"""Programme and course statistics by region and month."""
from __future__ import annotations

import datetime as dt

from lms.db import utcnow
from lms.extensions import db


def test_course_statistics_by_region_and_month(regions, client, login, make_user):
    from courses.models import Course, Enrolment, Lesson, LessonKind, Programme, Skill, SkillCategory
    from lms.learning.models import Progress

    skill = Skill(code="potato", name="马铃薯种植", category=SkillCategory.agriculture)
    programme = Programme(code="yulu", name="雨露计划·短期技能培训")
    db.session.add_all([skill, programme])
    db.session.flush()
    course = Course(title="马铃薯种植技术", programme_id=programme.id, skill_id=skill.id, published=True)
    db.session.add(course)
    db.session.flush()
    lesson = Lesson(course_id=course.id, title="选种", kind=LessonKind.video, duration=600)
    db.session.add(lesson)
    inside = [make_user("learner", region_code="621123100201") for _ in range(3)]
    outside = make_user("learner", region_code="621123101201")
    now = utcnow()
    db.session.flush()
    for i, user in enumerate(inside + [outside]):
        db.session.add(Enrolment(course_id=course.id, user_id=user.id, created_at=now,
                                 completed_at=now if i < 2 else None))
        db.session.add(Progress(user_id=user.id, lesson_id=lesson.id, watched_seconds=1800, updated_at=now))
    db.session.commit()
    login(client, make_user("official", region_code="621123100000"))
    page = client.get("/stats/courses?region=621123100000").get_data(as_text=True)
    # each table once, in the page body; the browser tab shows just the title
    assert [page.count(f'id="{t}"') for t in ("course-table", "programme-table", "month-table")] == [1, 1, 1]
    assert "<table" not in page.split("<title>")[1].split("</title>")[0]
    assert "<table" not in page.split("<head>")[1].split("</head>")[0]
    row = page.split('id="course-table"')[1].split("</tr>")[1]
    assert "马铃薯种植技术" in row and ">3<" in row and ">2<" in row and "66.7%" in row and ">1.5<" in row
    assert "雨露计划·短期技能培训" in page.split('id="programme-table"')[1]
    month_row = page.split('id="month-table"')[1].split(now.strftime("%Y-%m") + "</a>")[1].split("</tr>")[0]
    assert ">3<" in month_row and ">2<" in month_row
    last_year = (dt.date.today() - dt.timedelta(days=400)).strftime("%Y-%m")
    assert "No enrolments" in client.get(f"/stats/courses?region=621123100000&month={last_year}").get_data(
        as_text=True) or "暂无报名" in client.get(f"/stats/courses?region=621123100000&month={last_year}").get_data(
        as_text=True)
    assert client.get("/stats/courses?region=621123100000&month=2024-13").status_code == 400
