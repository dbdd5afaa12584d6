"""``flask deploy …`` (what a production layout needs from the app) and ``flask keys …``."""
from __future__ import annotations

import os

import click
from flask import current_app


@click.group("deploy")
def cli():
    """Configuration for a production layout, written from the app."""


@cli.command("nginx")
@click.option("--server-name", required=True, help="nginx server_name (the site's host name).")
@click.option("--upstream", "upstreams", multiple=True, default=("127.0.0.1:8000",), show_default=True,
              help="host:port of a web host's gunicorn; repeat for each host.")
@click.option("--media-root", default=None, help="LMS_MEDIA_ROOT as mounted on the nginx host "
              "[default: this app's LMS_MEDIA_ROOT].")
@click.option("--static-root", default=None, help="Where this code is installed on the nginx host "
              "[default: where it is here].")
@click.option("--listen", default="80", show_default=True, help="Port (or address:port) nginx listens on.")
@click.option("--secret-from-env", is_flag=True, help="Write the real LMS_MEDIA_LINK_SECRET from the "
              "environment instead of a placeholder.")
def nginx(server_name, upstreams, media_root, static_root, listen, secret_from_env):
    """Print the nginx configuration (upstream, static folders, media locations) for `include`."""
    from .nginx import SECRET_PLACEHOLDER, render

    secret = SECRET_PLACEHOLDER
    if secret_from_env:
        secret = os.environ.get("LMS_MEDIA_LINK_SECRET", "")
        if not secret:
            raise click.UsageError("--secret-from-env: LMS_MEDIA_LINK_SECRET is not set")
    try:
        text = render(current_app, server_name=server_name, upstreams=list(upstreams),
                      media_root=media_root or str(current_app.config["MEDIA_ROOT"]), secret=secret,
                      static_root=static_root, listen=listen)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(text, nl=False)


@click.group("keys")
def keys_cli():
    """The keys every host shares (LMS_SECRET_KEY, LMS_DATA_KEY, LMS_MEDIA_LINK_SECRET)."""


@keys_cli.command("generate")
def generate():
    """Print new keys as `export` lines for every web and worker host's environment."""
    from .keys import generate as new_keys

    for variable, value in new_keys().items():
        click.echo(f"export {variable}={value}")


@keys_cli.command("rotate-data")
@click.option("--batch", default=1000, show_default=True, help="Members per transaction.")
def rotate_data(batch):
    """Re-encrypt and re-hash stored ID numbers under LMS_DATA_KEY (from LMS_DATA_KEY_OLD); resumable."""
    from lms.extensions import db

    from .keys import RotationError, finish, rotate_batch, rotation_record

    try:
        row = rotation_record()
        db.session.commit()
        if row.finished_at is not None:
            click.echo(f"Already done: {row.members} members, {row.logins} learner sign-ins moved.")
            return
        while rotate_batch(row, batch):
            db.session.commit()  # each batch is kept: an interrupted run resumes after it
            click.echo(f"  … up to member {row.last_member_id}: {row.members} members re-encrypted")
        finish(row)
        db.session.commit()
    except RotationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Done: {row.members} members re-encrypted and re-hashed, {row.logins} learner sign-ins "
               "moved. Learners who sign in with a phone number move at their next sign-in: keep "
               "LMS_DATA_KEY_OLD until they have.")
