import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("regions", help="Administrative divisions.")


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
def import_command(path, report_path):
    """Load a UTF-8 CSV with header code,name,level,parent_code (idempotent)."""
    from lms.extensions import db
    from lms.regions.services import UnusableFile, import_regions

    try:
        with open(path, encoding="utf-8-sig") as fh:
            report = import_regions(fh.read())
    except (UnusableFile, UnicodeDecodeError) as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    db.session.commit()
    data = report.as_dict()
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
    for err in report.errors:
        click.echo(f"row {err['row']} [{err['column']}] {err['message']}", err=True)
    click.echo(f"rows={report.rows} created={report.created} updated={report.updated} "
               f"unchanged={report.unchanged} rejected={report.rejected}")
    sys.exit(1 if report.rejected else 0)
