from lms.learning import completion as c


def test_media_lesson_threshold():
    assert not c.media_lesson_complete(89.9, 100, 0.9)
    assert c.media_lesson_complete(90, 100, 0.9)
    assert c.media_lesson_complete(50, 100, 0.5)
    assert not c.media_lesson_complete(10, 0, 0.9)


def test_document_minimum_open_time():
    assert not c.document_complete(29, 30)
    assert c.document_complete(30, 30)


def test_document_seconds_left_rounds_up_and_stops_at_zero():
    assert c.document_seconds_left(0, 30) == 30
    assert c.document_seconds_left(20.2, 30) == 10  # never "0 seconds left" while refusing
    assert c.document_seconds_left(29.99, 30) == 1
    assert c.document_seconds_left(30, 30) == 0 and c.document_seconds_left(300, 30) == 0


def test_quiz_scoring_single_and_multiple():
    keys = [[1], [0, 2], [3]]
    assert c.score_quiz(keys, [[1], [2, 0], [3]]) == 1.0
    # a multiple-choice answer missing one correct choice is wrong
    assert c.score_quiz(keys, [[1], [0], [3]]) == 2 / 3
    # an extra wrong choice is wrong too
    assert c.score_quiz(keys, [[1], [0, 1, 2], []]) == 1 / 3
    assert c.quiz_passed(2 / 3, 0.6)
    assert not c.quiz_passed(1 / 3, 0.6)


def test_course_needs_required_lessons_and_quiz():
    assert not c.course_complete([True, False], False, False)
    assert not c.course_complete([True, True], True, False)
    assert c.course_complete([True, True], True, True)
    assert c.course_complete([True], False, False)
