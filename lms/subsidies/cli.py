"""``flask subsidies ...``: rules, accounts, batches, the payment list and the bank's return file.
Exit codes: 0 done, 1 done with rows refused (imports) or row errors (reconcile: nothing marked),
2 unusable input (nothing changed)."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click
from flask.cli import AppGroup

from lms.subsidies.models import DEFAULT_CATEGORIES

cli = AppGroup("subsidies", help="雨露计划 subsidies: rules, accounts, batches, payment lists.")
rule_cli = AppGroup("rule", help="The programme rules (data, with validity).")
accounts_cli = AppGroup("accounts", help="Households' payment accounts.")
batch_cli = AppGroup("batch", help="Batches (台账) and their review chain.")
cli.add_command(rule_cli)
cli.add_command(accounts_cli)
cli.add_command(batch_cli)


def _fail(message: str, as_json: bool = False, code: int = 2):
    from lms.extensions import db

    db.session.rollback()
    click.echo(json.dumps({"error": message}, ensure_ascii=False) if as_json else message, err=not as_json)
    sys.exit(code)


def _actor(username: str, as_json: bool = False):
    if not username:
        return None
    from lms.accounts.models import User
    from lms.extensions import db

    actor = db.session.scalar(db.select(User).where(User.username == username))
    if actor is None or not actor.is_active_account or not actor.has_role("official", "admin"):
        _fail(f"--by {username}: no active official or admin of that name", as_json)
    return actor


def _date(value: str | None, name: str, as_json: bool):
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{name} {value}: write the date as YYYY-MM-DD", as_json)


@rule_cli.command("set")
@click.option("--strand", required=True, help="short-training or vocational-education.")
@click.option("--programme", default="", help="Programme name or code (雨露计划·短期技能培训 / yulu-short).")
@click.option("--amount", required=True, help="Yuan, at most two decimals (stored as fen).")
@click.option("--evidence", required=True, type=click.Choice(["completion", "certificate", "class", "enrolment"]))
@click.option("--min-age", type=int, required=True)
@click.option("--max-age", type=int, required=True)
@click.option("--per", required=True, type=click.Choice(["year", "term"]))
@click.option("--categories", default=DEFAULT_CATEGORIES, show_default=True,
              help="脱贫状态 codes of households that qualify (0 未脱贫, 1 已脱贫(享受政策), 3 返贫).")
@click.option("--valid-from", default=None, help="YYYY-MM-DD")
@click.option("--valid-to", default=None, help="YYYY-MM-DD")
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def rule_set(strand, programme, amount, evidence, min_age, max_age, per, categories, valid_from, valid_to, username,
             as_json):
    """Add a new version of a strand's rule (batches already made keep theirs)."""
    from lms.extensions import db
    from lms.subsidies.money import MoneyError, parse_yuan
    from lms.subsidies.rules import RuleError, rule_json, set_rule

    actor = _actor(username, as_json)
    try:
        fen = parse_yuan(amount)
    except MoneyError:
        _fail(f"--amount {amount}: give yuan with at most two decimals, for example 1500 or 1500.50", as_json)
    try:
        rule = set_rule(actor, strand=strand, programme=programme or None, amount_fen=fen, evidence=evidence,
                        min_age=min_age, max_age=max_age, per=per, categories=categories,
                        valid_from=_date(valid_from, "--valid-from", as_json),
                        valid_to=_date(valid_to, "--valid-to", as_json))
    except RuleError as exc:
        _fail(str(exc), as_json)
    db.session.commit()
    data = rule_json(rule)
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else
               " ".join(f"{k}={v}" for k, v in data.items()))


@accounts_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--dry-run", is_flag=True, help="Report what an import would do; change nothing.")
@click.option("--by", "username", default="", help="Import as this official (their region only).")
def accounts_import(path, report_path, dry_run, username):
    """Import accounts (CSV in UTF-8/GBK/GB18030, or XLSX) with 证件号码, 户名, 开户银行, 账号.

    Exit code 0: every row imported; 1: some rows rejected (the rest imported); 2: the file is
    unusable and nothing was imported."""
    from lms.subsidies.accounts import import_accounts

    actor = _actor(username)
    report = import_accounts(path, dry_run=dry_run, actor=actor)
    _finish_import(actor, "subsidies.accounts_import", path, report, dry_run, report_path)


@batch_cli.command("create")
@click.option("--region", "code", required=True, help="12-digit township code.")
@click.option("--strand", required=True)
@click.option("--period", required=True, help="2026 for yearly strands, 2026-1 / 2026-2 for terms.")
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def batch_create(code, strand, period, username, as_json):
    """Propose every eligible person of the township not yet paid for the strand and period."""
    from lms.extensions import db
    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError, batch_json, create_batch
    from lms.subsidies.rules import RuleError

    actor = _actor(username, as_json)
    try:
        batch, _proposal = create_batch(actor, code, strand, period)
    except (BatchError, RuleError) as exc:
        _fail(str(exc), as_json)
    except OutOfScope:
        _fail(f"--region {code}: not in your region", as_json)
    db.session.commit()
    data = batch_json(batch)
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else
               f"batch={data['batch']} status={data['status']} rows={data['rows']} total_yuan={data['total_yuan']} "
               f"excluded={len(data['excluded'])}")


def _batch(batch_id: int, as_json: bool = False):
    from lms.extensions import db
    from lms.subsidies.models import Batch

    batch = db.session.get(Batch, batch_id)
    if batch is None:
        _fail(f"no batch {batch_id}", as_json)
    return batch


def _step(as_json: bool, do):
    """Run one review step, commit, print the batch's JSON; a refused step changes nothing (exit 2)."""
    from lms.extensions import db
    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError

    try:
        batch = do()
    except BatchError as exc:
        _fail(str(exc), as_json)
    except OutOfScope:
        _fail("not in your region", as_json)
    db.session.commit()
    from lms.subsidies.batches import batch_json

    data = batch_json(batch)
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else
               f"batch={data['batch']} status={data['status']} rows={data['rows']} total_yuan={data['total_yuan']}")


@batch_cli.command("certify")
@click.argument("batch_id", type=int)
@click.option("--village", default="", help="Certify every proposed row of this village (12 digits).")
@click.option("--row", "row_ids", type=int, multiple=True, help="Row id (repeatable).")
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def batch_certify(batch_id, village, row_ids, username, as_json):
    """The village certifies (核实) rows."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.subsidies import review
    from lms.subsidies.models import Row

    actor, batch = _actor(username, as_json), _batch(batch_id, as_json)

    def do():
        ids = list(row_ids)
        if village:
            ids += list(db.session.scalars(select(Row.id).where(Row.batch_id == batch.id, Row.status == "proposed",
                                                                Row.village_code == village)))
        review.certify(actor, batch, ids)
        return batch

    _step(as_json, do)


@batch_cli.command("exclude")
@click.argument("batch_id", type=int)
@click.option("--row", "row_id", type=int, required=True)
@click.option("--reason", required=True)
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def batch_exclude(batch_id, row_id, reason, username, as_json):
    """The village takes a row out, with the reason."""
    from lms.subsidies import review

    actor, batch = _actor(username, as_json), _batch(batch_id, as_json)
    _step(as_json, lambda: (review.exclude(actor, batch, row_id, reason), batch)[1])


@batch_cli.command("submit")
@click.argument("batch_id", type=int)
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def batch_submit(batch_id, username, as_json):
    """The township submits the batch to the county."""
    from lms.subsidies import review

    actor, batch = _actor(username, as_json), _batch(batch_id, as_json)
    _step(as_json, lambda: (review.submit(actor, batch), batch)[1])


@batch_cli.command("approve")
@click.argument("batch_id", type=int)
@click.option("--by", "username", required=True, help="The approving county official (not the submitter).")
@click.option("--json", "as_json", is_flag=True)
def batch_approve(batch_id, username, as_json):
    """The county approves; the public notice (公示) opens."""
    from lms.subsidies import review

    actor, batch = _actor(username, as_json), _batch(batch_id, as_json)
    _step(as_json, lambda: (review.approve(actor, batch), batch)[1])


@batch_cli.command("end-notice")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def batch_end_notice(batch_id, as_json):
    """After the notice period: unheld rows become payable (the daily job does this too)."""
    from lms.subsidies import review

    batch = _batch(batch_id, as_json)
    _step(as_json, lambda: (review.end_notice(None, batch), batch)[1])


@batch_cli.command("export")
@click.argument("batch_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True)
@click.option("--by", "username", default="")
def batch_export(batch_id, out, username):
    """Write the bank's payment list (XLSX); the same batch gives the same file."""
    from lms.extensions import db
    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError
    from lms.subsidies.money import yuan
    from lms.subsidies.payments import export_list

    actor, batch = _actor(username), _batch(batch_id)
    try:
        data, count, total = export_list(actor, batch)
    except BatchError as exc:
        _fail(str(exc))
    except OutOfScope:
        _fail("not in your region")
    db.session.commit()
    with open(out, "wb") as fh:
        fh.write(data)
    click.echo(f"rows={count} total_yuan={yuan(total)}")


@batch_cli.command("reconcile")
@click.argument("batch_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--by", "username", default="")
@click.option("--json", "as_json", is_flag=True)
def batch_reconcile(batch_id, path, username, as_json):
    """Read the bank's return file (账号, 金额, 状态 成功/失败, 失败原因). Exit 0: every row marked; 1: row
    errors, nothing marked; 2: unusable file or batch."""
    from lms.extensions import db
    from lms.regions.scope import OutOfScope
    from lms.subsidies.batches import BatchError
    from lms.subsidies.payments import reconcile

    actor, batch = _actor(username, as_json), _batch(batch_id, as_json)
    try:
        report = reconcile(actor, batch, path)
    except BatchError as exc:
        _fail(str(exc), as_json)
    except OutOfScope:
        _fail("not in your region", as_json)
    if report.exit_code:
        db.session.rollback()
    else:
        db.session.commit()
    data = report.as_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        for issue in data["errors"][:50]:
            click.echo(f"row {issue['row']} [{issue['column']}] {issue['code']}: {issue['message']}", err=True)
        click.echo(" ".join(f"{k}={data[k]}" for k in ("rows", "paid", "failed", "marked")))
    sys.exit(report.exit_code)


@click.command("subsidies")
@click.option("--region", "code", required=True, help="12-digit region code.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET /api/v1/stats/subsidies.")
def stats_command(code, as_json):
    """Subsidies approved, paid and outstanding in a region and its child regions."""
    from lms.extensions import db
    from lms.regions.models import Region
    from lms.subsidies.figures import as_json as payload, region_figures

    region = db.session.get(Region, code)
    if region is None:
        click.echo(f"unknown region {code}", err=True)
        sys.exit(2)
    data = payload(region, region_figures(region))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for row in [data] + data["children"]:
        click.echo(f"{row['region']} {row['name']}: approved_yuan={row['approved_yuan']} paid_yuan={row['paid_yuan']} "
                   f"paid_people={row['paid_people']} outstanding_yuan={row['outstanding_yuan']}")


def _finish_import(actor, action: str, path: str, report, dry_run: bool, report_path):
    """Commit (audited) or roll back an import, print its report as every import command does
    (lms.spreadsheets.report.echo_report, the report's own counts) and exit with its code (0, 1 or 2)."""
    from lms.audit import record
    from lms.extensions import db
    from lms.spreadsheets.report import counts_line, echo_report

    data = report.as_dict()
    if dry_run or report.unusable:
        db.session.rollback()
    else:
        record(actor, action, os.path.basename(path), {k: v for k, v in data.items() if k not in ("errors", "warnings")})
        db.session.commit()
    counts = ("rows", *report.COUNTS, "unchanged", "rejected")
    echo_report(data, report_path, counts_line(data, counts) + (" (dry run: nothing changed)" if dry_run else ""))
    sys.exit(report.exit_code)


enrolments_cli = AppGroup("enrolments", help="Schools' enrolment lists (职业教育 strand).")
cli.add_command(enrolments_cli)


@enrolments_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--dry-run", is_flag=True, help="Report what an import would do; change nothing.")
@click.option("--by", "username", default="", help="Import as this official (their region only).")
def enrolments_import(path, report_path, dry_run, username):
    """Import an enrolment list (CSV or XLSX) with 证件号码, 学校, 学期 and optionally 专业, 学籍号.

    Exit code 0: every row imported; 1: some rows rejected (the rest imported); 2: the file is
    unusable and nothing was imported."""
    from lms.subsidies.enrolments import import_enrolments

    actor = _actor(username)
    report = import_enrolments(path, dry_run=dry_run, actor=actor)
    _finish_import(actor, "subsidies.enrolments_import", path, report, dry_run, report_path)
