"""雨露计划 subsidies (DOMAIN.md §6): rules as data, payment accounts, batches (台账) proposed from the
registry, courses and certificates, the review chain with its public notice (公示), the bank's
payment list and reconciliation, and the officials' figures (``lms.subsidies``)."""
from __future__ import annotations


def init_app(app) -> None:
    """Everything the area brings: its tables, CLI group (and ``flask stats subsidies``), blueprint,
    the 公示 days setting."""
    from flask_babel import lazy_gettext as _l

    from lms.settings import register_default
    from lms.subsidies import cli, models, tasks  # noqa: F401  (models: tables known to the metadata)

    register_default("subsidies.notice_days", 7, _l("Days a subsidy list stays on public notice (公示)."), int)
    app.cli.add_command(cli.cli)
