"""Courses: programmes, the skill catalogue, courses, lessons, quizzes; trainer authoring. The
learner's pages (home, catalogue, course, lesson, quiz) are lms.learning.pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.seeds import register_seed_step
    from lms.settings import register_default
    from lms.ui import register_nav
    from media import access as media_access
    from media import services as media_services

    from . import cli, models, queries, services, views  # noqa: F401  (models: the tables known to the metadata)

    app.register_blueprint(views.bp)
    app.add_template_filter(views.list_of, "list_of")
    app.cli.add_command(cli.cli)
    register_nav("courses.trainer_courses", _l("My courses"), ("trainer", "admin"), order=20)
    register_default("courses_max_document_mb", 50, _l("Largest lesson document (PDF) accepted, in MB"), int)
    register_default("courses_package_max_entry_mb", 4096,
                     _l("Largest file inside a course package (unpacked), in MB"), int)
    register_default("courses_package_max_total_mb", 16384,
                     _l("Largest course package once unpacked, in MB"), int)
    # Media refuses to delete an asset a lesson, cover or quiz prompt uses, and serves media files to
    # whoever may open a page that shows them (the pages' own rule).
    media_services.register_in_use_checker(services.assets_in_use)
    media_access.register_viewer_check(queries.may_watch_asset)
    register_seed_step(app, cli.seed_demo_course)
