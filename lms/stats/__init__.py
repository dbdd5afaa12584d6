"""The skill goal: roll-ups, dashboard, exports (``lms.stats``)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.households.signals import registry_changed, registry_changing
    from lms.seeds import register_seed_step
    from lms.settings import register_default
    from lms.skills.signals import awards_changed, awards_changing
    from lms.ui import register_nav

    from . import cli, models, rollups, tasks, views  # noqa: F401  (tasks: the recount jobs, known to every process)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    register_nav("stats.skills", _l("Skill goal"), roles=("official", "admin"), order=20)
    register_nav("stats.courses", _l("Course statistics"), roles=("official", "admin"), order=25)
    register_default("stats.goal_unit", "laborer",
                     _l("Skill goal unit: “laborer” (every laborer) or “household” (at least one laborer per household)"))
    register_default("stats.goal_threshold", 1, _l("Skill goal threshold: 1 or 2 distinct skills"))
    # The roll-ups move in the transaction that changed what they count.
    registry_changed.connect(rollups.on_registry_changed, weak=False)
    registry_changing.connect(rollups.on_registry_changing, weak=False)
    awards_changing.connect(rollups.on_awards_changing, weak=False)
    awards_changed.connect(rollups.on_awards_changed, weak=False)
    register_seed_step(app, cli.seed_rollups)
