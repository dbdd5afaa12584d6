"""``flask households ...``: import member exports, write synthetic ones."""
from __future__ import annotations

import os
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("households", help="The 建档立卡 household registry.")


@cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the JSON report here.")
@click.option("--dry-run", is_flag=True, help="Report what an import would do; change nothing.")
@click.option("--strict", is_flag=True, help="All or nothing: any rejected row imports nothing.")
@click.option("--create-regions", is_flag=True,
              help="Create unknown townships/villages given with a 12-digit 村代码 under a known county.")
@click.option("--by", "username",
              help="Import as this account: an official imports only into their own region.")
def import_command(path, report_path, dry_run, strict, create_regions, username):
    """Import a member export (CSV in UTF-8/GBK/GB18030, or XLSX).

    Exit code 0: every row imported; 1: some rows rejected (the rest imported;
    with --strict nothing); 2: the file is unusable and nothing was imported."""
    from lms.accounts.models import User
    from lms.audit import record
    from lms.extensions import db
    from lms.regions.scope import write_prefix

    from lms.spreadsheets.report import counts_line, echo_report

    from .importing.run import import_households

    actor = None
    if username:
        actor = db.session.scalar(db.select(User).where(User.username == username))
        if actor is None or not actor.is_active_account or not actor.has_role("official", "admin"):
            click.echo(f"no active official or admin account {username}", err=True)
            sys.exit(2)
    report = import_households(path, user=actor, dry_run=dry_run, strict=strict,
                               create_regions=create_regions, scope=write_prefix(actor))
    if report.changes_kept:
        record(actor, "households.import", os.path.basename(path), {
            k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")})
        db.session.commit()
    else:
        db.session.rollback()
    data = report.as_dict()
    echo_report(data, report_path, counts_line(data, (
        "rows", "households_created", "households_updated", "members_created", "members_updated",
        "unchanged", "rejected")) + f" warnings={report.warning_count}"
        + (" (dry run: nothing changed)" if dry_run else "")
        + (" (strict: nothing imported)" if strict and report.rejected else ""))
    sys.exit(report.exit_code)


@cli.command("synth")
@click.option("--households", "count", type=click.IntRange(1), required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--county", "counties", multiple=True, default=("621123",), show_default=True,
              help="6-digit county code; repeat for several counties.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True)
@click.option("--encoding", type=click.Choice(["utf-8", "utf-8-sig", "gb18030"]), default="utf-8",
              show_default=True, help="CSV text encoding.")
@click.option("--year", type=int, default=2024, show_default=True, help="The record year (年度).")
def synth_command(count, seed, out, counties, fmt, encoding, year):
    """Write a synthetic national-format member export and its regions CSV."""
    from .synth import write

    for county in counties:
        if not (len(county) == 6 and county.isdigit()):
            raise click.BadParameter(f"{county}: a county code has 6 digits", param_hint="--county")
    result = write(out, count, seed=seed, counties=tuple(counties), fmt=fmt, encoding=encoding,
                   year=year)
    click.echo(f"households={result['households']} members={result['members']} "
               f"regions={result['regions']} regions_file={result['regions_file']}")
