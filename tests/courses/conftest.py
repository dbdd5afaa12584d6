from tests.courses.fixtures import catalogue, fake_media, make_course  # noqa: F401
