"""The daily move of batches whose public notice has ended (imported by ``init_app`` so every
process knows the job)."""
from __future__ import annotations

from huey import crontab

from lms.queue import app_periodic_task


# Every 30 minutes: the first run after a notice's last day makes its unheld rows payable.
@app_periodic_task(crontab(minute="*/30"))
def end_subsidy_notices():
    from lms.subsidies.review import end_due_notices

    return end_due_notices()
