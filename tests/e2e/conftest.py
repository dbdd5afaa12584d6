from tests.courses.fixtures import _fresh_lesson_cache, catalogue  # noqa: F401
