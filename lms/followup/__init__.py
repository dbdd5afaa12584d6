"""Follow-up of open cases (跟踪销号): training assignments (培训安排), 暂缓, computed status,
reminders, and the case figures of the skill-goal roll-ups (``lms.followup``)."""
from __future__ import annotations


def init_app(app) -> None:
    """Everything the area brings: its blueprint, CLI group, jobs, template helpers, the roll-ups'
    case source, its signal receiver and the flush receivers that move the case figures when a
    course or a class is deleted with its assignments (``cascade``)."""
    from lms.extensions import db
    from lms.followup import cascade, cli, models, status, tasks, views  # noqa: F401  (models: tables known to the metadata)
    from lms.stats.rollups import register_case_source

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    register_case_source(status.case_states)
    app.jinja_env.globals.update(followup_for_learner=_for_learner, followup_household=_household,
                                 followup_weekly=_weekly)
    from lms.learning.signals import course_completed

    course_completed.connect(tasks.on_course_completed, weak=False)
    cascade.listen(db.session)


def _for_learner(user) -> list[dict]:
    from lms.followup.queries import learner_assignments

    return learner_assignments(user)


def _household(household) -> dict:
    from lms.followup.queries import household_followup, measures_for

    data = household_followup(household)
    data["courses"], data["classes"] = measures_for(household.village_code)
    return data


def _weekly(region) -> dict:
    from lms.followup.queries import weekly_overdue

    return weekly_overdue(region)
