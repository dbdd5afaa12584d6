from tests.courses.fixtures import _fresh_lesson_cache, catalogue, fake_media, make_course  # noqa: F401
