import sys

import click
from flask.cli import AppGroup

cli = AppGroup("regions", help="Administrative divisions.")


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
def import_command(path, report_path):
    """Load a table (CSV in UTF-8/GBK/GB18030, or XLSX) with the columns code, name, level,
    parent_code (idempotent).

    Exit code 0: every row imported; 1: some rows rejected (the rest imported); 2: the file is
    unusable and nothing was imported."""
    from lms.extensions import db
    from lms.regions.services import import_regions_file
    from lms.spreadsheets.report import counts_line, echo_report

    report = import_regions_file(path)
    if report.unusable:
        db.session.rollback()
    else:
        db.session.commit()
    data = report.as_dict()
    echo_report(data, report_path, counts_line(data, ("rows", "created", "updated", "unchanged", "rejected")))
    sys.exit(report.exit_code)
