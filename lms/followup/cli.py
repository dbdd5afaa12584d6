"""``flask followup ...``: arranging training for a campaign in one step."""
from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("followup", help="Follow-up of laborers without a skill (跟踪销号).")


@cli.command("assign")
@click.option("--course", "course_id", type=int, required=True, help="Course id.")
@click.option("--member", "member_ids", type=int, multiple=True, help="Registry member id (repeatable).")
@click.option("--village", "village", default="", help="12-digit village code (with --all-without-skill).")
@click.option("--all-without-skill", "all_without", is_flag=True,
              help="Every laborer of the village below the goal threshold who is not deferred.")
@click.option("--due", "due", required=True, help="Due date YYYY-MM-DD.")
@click.option("--by", "username", default="", help="Assign as this official (their region scope).")
@click.option("--json", "as_json", is_flag=True, help='Print {"created": N, "skipped": [...]}.')
def assign_command(course_id, member_ids, village, all_without, due, username, as_json):
    """Assign a course; exit 0 when every assignment was created, 1 when some were skipped, 2 on
    unusable input (nothing created)."""
    from lms.extensions import db
    from lms.followup import services

    def fail(message: str):
        db.session.rollback()
        click.echo(json.dumps({"error": message}, ensure_ascii=False) if as_json else message, err=not as_json)
        sys.exit(2)

    if bool(member_ids) == bool(village or all_without) or (village and not all_without) or (all_without and not village):
        fail("give --member ID … or --village CODE --all-without-skill")
    try:
        due_on = dt.date.fromisoformat(due)
    except ValueError:
        fail(f"--due {due}: write the date as YYYY-MM-DD")
    actor = None
    if username:
        from lms.accounts.models import User

        actor = db.session.scalar(db.select(User).where(User.username == username))
        if actor is None or not actor.is_active_account or actor.role.value not in ("official", "admin"):
            fail(f"--by {username}: no active official or admin of that name")
    if all_without:
        from lms.followup.queries import campaign_members

        from lms.regions.models import Region
        from lms.regions.scope import code_in_scope

        region = db.session.get(Region, village)
        if region is None or region.level != 5 or (actor is not None and not code_in_scope(actor, village)):
            fail(f"--village {village}: no such village in your region")
        member_ids = campaign_members(village)
    try:
        result = services.assign(actor, member_ids, course_id=course_id, due_on=due_on)
    except services.FollowupError as exc:
        fail(str(exc))
    db.session.commit()
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        click.echo(f"created={len(result.created)} skipped={len(result.skipped)}")
        for member_id, reason in result.skipped:
            click.echo(f"member {member_id}: {reason}")
    sys.exit(1 if result.skipped else 0)
