"""``flask media ingest PATH --title T [--wait] [--json]`` and ``flask media recover``."""
import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("media", help="Video and audio assets.")


@cli.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--title", default="", help="Title shown to trainers (default: the file name).")
@click.option("--wait", is_flag=True, help="Transcode in this process and return when done.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ingest(path, title, wait, as_json):
    """Load a video or audio file from disk; queue its transcode (or run it with --wait)."""
    from lms.extensions import db
    from media.models import AssetStatus
    from media.queries import ingest_report
    from media.services import ingest_file

    # --wait: no worker; the job (and its retries) runs here before the command commits.
    asset = ingest_file(path, title, wait=wait)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(ingest_report(asset), ensure_ascii=False))
    else:
        click.echo(f"asset {asset.id}: {asset.status.value}"
                   + (f" — {asset.error_message}" if asset.error_code and asset.status == AssetStatus.failed else ""))
    sys.exit(1 if asset.status == AssetStatus.failed else 0)


@cli.command("recover")
def recover():
    """Queue again the jobs whose worker died (also done at worker start and every 2 minutes)."""
    from media.services import recover_stale

    ids = recover_stale()
    click.echo(f"requeued: {ids}")
