"""``flask skills ...``: import skill certificates."""
from __future__ import annotations

import json
import os
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("skills", help="Skill awards.")


@cli.command("import-certificates")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--dry-run", is_flag=True, help="Report what an import would do; change nothing.")
def import_certificates_command(path, report_path, dry_run):
    """Import skill certificates (CSV in UTF-8/GBK/GB18030, or XLSX) with the columns 证件号码, 技能,
    证书类型, 证书编号, 发证日期 and optionally 发证机构, 等级.

    Exit code 0: every row imported; 1: some rows rejected (the rest imported); 2: the file is
    unusable and nothing was imported."""
    from lms.audit import record
    from lms.extensions import db
    from lms.skills.imports import import_certificates

    report = import_certificates(path, dry_run=dry_run)
    if dry_run or report.unusable:
        db.session.rollback()
    else:
        record(None, "skills.import_certificates", os.path.basename(path), {
            k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")})
        db.session.commit()
    data = report.as_dict()
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
    for issue in data["errors"][:50]:
        click.echo(f"row {issue['row']} [{issue['column']}] {issue['code']}: {issue['message']}", err=True)
    if len(data["errors"]) > 50:
        click.echo(f"… {len(data['errors']) - 50} more errors (see --report)", err=True)
    click.echo(" ".join(f"{k}={data[k]}" for k in ("rows", "awards_created", "unchanged", "rejected"))
               + (" (dry run: nothing changed)" if dry_run else ""))
    sys.exit(report.exit_code)
