import json
import secrets
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("users", help="Accounts.")


@cli.command("create")
@click.option("--username", required=True, help="Staff username; for a learner the phone or ID number.")
@click.option("--role", required=True, help="learner, trainer, official or admin.")
@click.option("--region", "region_code", help="12-digit region code (required for officials).")
@click.option("--password", help="Password; for a learner the 6-digit PIN. Generated when absent.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--json", "as_json", is_flag=True, help="Print the new account as JSON.")
def create_command(username, role, region_code, password, display_name, as_json):
    """Create an account."""
    from lms.accounts.services import AccountError, create_user
    from lms.audit import record
    from lms.extensions import db

    generated = password is None
    if generated:
        password = f"{secrets.randbelow(10**6):06d}" if role == "learner" else secrets.token_urlsafe(12)
    try:
        user = create_user(username=username, role=role, password=password, region_code=region_code,
                           display_name=display_name)
    except AccountError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    record(None, "user.create", user, {"role": user.role.value, "via": "cli"})
    db.session.commit()
    shown = user.username or user.login_hint
    if as_json:
        click.echo(json.dumps({"id": user.id, "username": shown, "role": user.role.value}, ensure_ascii=False))
    else:
        click.echo(f"created {user.role.value} {shown} (id {user.id})")
    if generated:
        click.echo(f"password: {password}", err=True)
