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
