"""``flask skills ...``: import skill certificates."""
from __future__ import annotations

import os
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("skills", help="Skill awards.")


@cli.command("import-certificates")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--dry-run", is_flag=True, help="Report what an import would do; change nothing.")
@click.option("--by", "username", help="Import as this account (an admin, or a county or higher official: "
                                         "rows of people outside their region are rejected).")
def import_certificates_command(path, report_path, dry_run, username):
    """Import skill certificates (CSV in UTF-8/GBK/GB18030, or XLSX) with the columns 证件号码, 技能,
    证书类型, 证书编号, 发证日期 and optionally 发证机构, 等级, 培训项目 (the programme).

    Exit code 0: every row imported; 1: some rows rejected (the rest imported); 2: the file is
    unusable and nothing was imported."""
    from lms.audit import record
    from lms.extensions import db
    from lms.accounts.models import User
    from lms.skills.imports import NotAllowed, import_certificates
    from lms.spreadsheets.report import counts_line, echo_report

    actor = None
    if username:
        actor = db.session.scalar(db.select(User).where(User.username == username))
        if actor is None or not actor.is_active_account:
            click.echo(f"no active staff account {username}", err=True)
            sys.exit(2)
    try:
        report = import_certificates(path, dry_run=dry_run, actor=actor)
    except NotAllowed as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    if dry_run or report.unusable:
        db.session.rollback()
    else:
        record(actor, "skills.import_certificates", os.path.basename(path), {
            k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")})
        db.session.commit()
    data = report.as_dict()
    echo_report(data, report_path, counts_line(data, ("rows", "awards_created", "unchanged", "rejected"))
                + (" (dry run: nothing changed)" if dry_run else ""))
    sys.exit(report.exit_code)
