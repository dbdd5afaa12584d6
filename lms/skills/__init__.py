"""Skill awards and offline training (``lms.skills``)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.learning.signals import course_completed
    from lms.ui import register_nav

    from . import cli, models, queries, services, views  # noqa: F401  (models: the tables known to the metadata)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    register_nav("skills.classes", _l("Offline classes"), roles=("trainer", "admin"), order=30)
    register_nav("skills.awards", _l("Skill awards"), roles=("official", "admin"), order=22)
    # The learner's home page (lms.learning.pages, below) lists the skills they hold.
    app.jinja_env.globals.update(skills_of_learner=queries.my_skills)
    # Completing a course awards its skill (weak=False: the receiver is a module function kept for good).
    course_completed.connect(services.on_course_completed, weak=False)
