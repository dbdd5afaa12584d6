"""Jobs keeping the roll-ups current after bulk registry changes."""
from huey import crontab

from lms.queue import app_periodic_task, app_task


@app_task(retries=2, retry_delay=10)
def refresh_dirty_villages():
    """Recount every village an import marked; returns how many."""
    from lms.stats.rollups import refresh_dirty

    return refresh_dirty()


# Every minute: an import's changes reach the dashboard within 60 s of its commit.
@app_periodic_task(crontab(minute="*"))
def refresh_dirty_villages_periodically():
    from lms.stats.rollups import refresh_dirty

    return refresh_dirty()


def on_registry_changed(sender=None, village_codes=(), **_extra) -> None:
    """Receiver of the registry's change signal: mark the villages (same transaction)."""
    from lms.stats.rollups import mark_dirty

    mark_dirty(village_codes)


def connect_signals() -> None:
    try:
        from lms.households.signals import registry_changed
    except ImportError:  # the registry sends no signal: the verify/rebuild commands still work
        return
    registry_changed.connect(on_registry_changed, weak=False)


import lms.stats.settings  # noqa: E402,F401  (register the goal settings in every process)

connect_signals()
