"""The worker says it is alive, once a minute (``/healthz`` reads it)."""
from huey import crontab

from lms.queue import app_periodic_task


@app_periodic_task(crontab(minute="*"))
def record_worker_heartbeat():
    from .services import record_worker_heartbeat as record

    record()
