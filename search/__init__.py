"""Search: the whoosh index (schema, Chinese analysis, the one writer), queries and routes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from courses.signals import course_published, course_unpublished
    from lms.ui import register_nav

    from . import cli, models, tasks, views  # noqa: F401  (tasks: the index jobs, known to every process)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    # jieba's dictionary is not loaded here: only the process that answers a search loads it, on
    # its first query (about a second, bench/search.py), so web workers and the job worker do not
    # each hold a copy at rest.
    register_nav("search.synonyms", _l("Search synonyms"), ("admin",), 84)
    # The worker is the index's one writer: a publish queues its job in the publishing transaction.
    course_published.connect(tasks.on_course_published, weak=False)
    course_unpublished.connect(tasks.on_course_unpublished, weak=False)
