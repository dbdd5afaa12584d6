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
