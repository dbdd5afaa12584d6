"""The 建档立卡 household registry: import, validation, history, learner linking."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.settings import register_default
    from lms.ui import register_nav, register_signin_link

    from . import cli, models, tasks, views  # noqa: F401  (tasks: the import jobs, known to every process)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    register_nav("households.index", _l("Households"), ("official", "admin"), order=20)
    register_nav("households.upload", _l("Import households"), ("official", "admin"), order=21)
    register_signin_link("households.link", _l("First time? Find my household record"), order=10)
    register_signin_link("households.register", _l("Not in a registered household? Register"), order=11)
    register_default("households_max_upload_mb", 512, _l("Largest household spreadsheet accepted, in MB"), int)
    register_default("households.laborer_min_age", 16,
                     _l("Laborer rule: youngest age (inclusive) at the record year's as-of date"))
    register_default("households.laborer_max_age", 60,
                     _l("Laborer rule: age (exclusive) from which a member is no longer a laborer"))
    register_default("households.laborer_capacities", "1,2,3",
                     _l("Laborer rule: 劳动技能 codes that count (1 普通劳动力, 2 技能劳动力, "
                        "3 弱劳动力或半劳动力), comma-separated"))
    register_default("households.laborer_as_of", "12-31",
                     _l("Laborer rule: as-of date (MM-DD) within the record year at which age is counted"))
    register_default("households.preview_hours", 48,
                     _l("Hours an uploaded household file waits for its import to be confirmed "
                        "before it is removed"), int)
