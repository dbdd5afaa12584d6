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
@click.option("--categories", default="0,1,3", show_default=True,
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
    from lms.audit import record
    from lms.extensions import db
    from lms.subsidies.accounts import import_accounts

    actor = _actor(username)
    report = import_accounts(path, dry_run=dry_run, actor=actor)
    if dry_run or report.unusable:
        db.session.rollback()
    else:
        record(actor, "subsidies.accounts_import", os.path.basename(path), {
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
    click.echo(" ".join(f"{k}={data[k]}" for k in ("rows", "accounts_created", "accounts_changed", "unchanged",
                                                   "rejected")) + (" (dry run: nothing changed)" if dry_run else ""))
    sys.exit(report.exit_code)


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
