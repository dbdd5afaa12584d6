"""The daily move of the case figures (overdue and 暂缓 depend on the date) and the reaction to a
completed course. Imported by ``lms.followup.init_app`` so every process knows the job."""
from __future__ import annotations

from huey import crontab

from lms.queue import app_periodic_task


# Every 10 minutes: the first run after midnight (Asia/Shanghai) moves the figures; the others read
# one row and stop.
@app_periodic_task(crontab(minute="*/10"))
def advance_followup_day():
    from lms.followup.services import advance_day

    return advance_day()


def on_course_completed(sender, course_id: int, user_id: int, **_extra) -> None:
    """A completed assigned course is no longer overdue, even when the course awards no skill: recount
    the learner's village (the completion is already flushed, so a before/after count cannot see it)."""
    from sqlalchemy import select

    from lms.accounts.models import User
    from lms.extensions import db
    from lms.followup.models import Assignment
    from lms.stats.rollups import refresh_villages

    user = db.session.get(User, user_id)
    if user is None or not user.member_id:
        return
    village = db.session.scalar(select(Assignment.village_code).where(
        Assignment.member_id == user.member_id, Assignment.course_id == course_id))
    if village:
        refresh_villages([village])
