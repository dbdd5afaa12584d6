"""Queue jobs for media. The job body lives in services.run_transcode."""
from __future__ import annotations

from huey import crontab

from lms.queue import app_periodic_task, app_task, huey


def _schedule_retry(asset_id: int, delay: int) -> None:
    transcode_job.schedule((asset_id,), delay=delay)


# retries=0 here: run_transcode retries failed ffmpeg runs itself with backoff (30 s, 60 s),
# counting attempts in the asset row so that attempts lost to a killed worker count as well.
@app_task(retries=0)
def transcode_job(asset_id: int) -> str:
    from .services import run_transcode

    return run_transcode(asset_id, schedule_retry=_schedule_retry)


@app_periodic_task(crontab(minute="*/2"))
def recover_stale_jobs() -> list[int]:
    from .services import recover_stale

    return recover_stale()


@app_periodic_task(crontab(minute="17"))
def remove_abandoned_uploads() -> list[int]:
    """Hourly: unfinished uploads with no piece for ``media_abandoned_upload_hours`` (default 48)."""
    from .cleanup import remove_abandoned_uploads as remove

    return remove()


@huey.on_startup()
def _recover_at_worker_start() -> None:
    # A worker killed mid-job left its asset "transcoding" with a lease that will expire;
    # the sweep is queued at start and every 2 minutes.
    recover_stale_jobs()
