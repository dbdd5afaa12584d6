"""雨露计划 subsidies (DOMAIN.md §6): rules as data, payment accounts, batches (台账) proposed from the
registry, courses and certificates, the review chain with its public notice (公示), the bank's
payment list and reconciliation, and the officials' figures (``lms.subsidies``)."""
from __future__ import annotations


def init_app(app) -> None:
    """Everything the area brings: its tables, blueprint, CLI group (and ``flask stats subsidies`` in
    the stats group: this area sits above stats), nav entry, the 公示 days setting and the daily job."""
    from flask_babel import lazy_gettext as _l

    from lms.settings import register_default
    from lms.stats.cli import cli as stats_cli
    from lms.subsidies import cli, models, pages, tasks, views  # noqa: F401  (models: tables; pages: routes)
    from lms.ui import register_nav

    register_default("subsidies.notice_days", 7, _l("Days a subsidy list stays on public notice (公示)."), int)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    if "subsidies" not in stats_cli.commands:
        stats_cli.add_command(cli.stats_command)
    register_nav("subsidies.index", _l("Subsidies"), roles=("official", "admin"), order=24)
    app.jinja_env.globals.update(subsidies_household=_household)


def _household(household) -> dict:
    """The household page's part: the current account (masked) and the household's subsidy rows."""
    from lms.subsidies.queries import household_rows
    from lms.subsidies.accounts import current_account
    from lms.subsidies.models import STRANDS

    return {"account": current_account(household.id), "rows": household_rows(household.id), "strands": STRANDS}
