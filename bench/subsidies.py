"""雨露计划 subsidies at county scale.

Loads a county of registered households (the registry's synth, straight into the tables as
bench/dashboard.py does), gives N eligible members a 雨露计划 training certificate dated in the
period and their households an account, then measures:

- the proposal: every township of the county proposes its batch (``create_batch``, one transaction
  each), total and slowest township;
- the payment list: every batch certified, submitted, approved, past its notice, then exported
  (``export_list``: the XLSX with revealed account numbers and a totals row);
- reconciliation: the bank's return file of every exported row (1 % failed) read and marked.

    python bench/subsidies.py                   # 100,000 households, 60,000 eligible certificates (SQLite)
    python bench/subsidies.py --quick           # 2,000 households, 1,200 certificates
    python bench/subsidies.py --database-url postgresql+psycopg://…   # the same on PostgreSQL
        [--households N] [--eligible N] [--keep DIR]

Writes bench/results/subsidies-<backend>.json with bench/common.py's metadata.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402
from bench.dashboard import Loader, load_registry, log  # noqa: E402

COUNTY = "621123"
PERIOD = "2026"


def load_evidence(app, eligible: int, seed: int) -> dict:
    """Certificates (培训合格证书 of 雨露计划·短期技能培训) for ``eligible`` laborers aged 16–45 on the
    date, and an account for each of their households."""
    from courses.models import Programme, Skill
    from lms.extensions import db
    from lms.households.services import cipher

    rng = random.Random(seed)
    started = time.time()
    with app.app_context():
        programme_id = db.session.scalar(db.select(Programme.id).where(Programme.code == "yulu-short"))
        skill_id = db.session.scalar(db.select(Skill.id).where(Skill.code == "planting.potato"))
        day = dt.date(2026, 5, 20)
        lo, hi = (day.year - 45) * 10000 + 521, (day.year - 16) * 10000 + 520
        people = db.session.execute(db.text(
            "SELECT m.id, m.household_id, h.village_code, m.name FROM members m JOIN households h ON h.id = m.household_id "
            "WHERE m.birth_ymd BETWEEN :lo AND :hi AND h.poverty_status IN ('0', '1', '3') ORDER BY m.id"),
            {"lo": lo, "hi": hi}).all()
        db.session.rollback()
        if len(people) < eligible:
            raise RuntimeError(f"only {len(people):,} members aged 16–45: load more households")
        chosen = rng.sample(people, eligible)
        loader = Loader(db.engine)
        now = dt.datetime.now(dt.timezone.utc)
        now = now if loader.pg else now.replace(tzinfo=None)
        awards = [(m_id, village, skill_id, "training_certificate", "certificate_import", programme_id,
                   day - dt.timedelta(days=rng.randrange(120)), f"YL{m_id:09d}", now)
                  for m_id, _h, village, _n in chosen]
        cols = ("member_id", "region_code", "skill_id", "evidence", "source", "programme_id", "awarded_on",
                "certificate_number", "created_at")
        for i in range(0, len(awards), 20_000):
            loader.insert("skill_awards", cols, awards[i:i + 20_000])
        ids = cipher()
        holders = {}
        for m_id, household, _village, name in chosen:
            holders.setdefault(household, (m_id, name))
        accounts = []
        for household, (m_id, name) in holders.items():
            number = f"622848{household:013d}"
            accounts.append((household, m_id, name, "甘肃省农村信用社", ids.encrypt(number),
                             ids.digest("acct:" + number), number[-4:], True, now))
        cols = ("household_id", "member_id", "holder_name", "bank", "number_enc", "number_hash", "last4", "current",
                "created_at")
        for i in range(0, len(accounts), 20_000):
            loader.insert("subsidy_accounts", cols, accounts[i:i + 20_000])
        loader.close()
    return {"certificates": len(awards), "accounts": len(accounts), "seconds": round(time.time() - started, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2,000 households, 1,200 eligible certificates")
    parser.add_argument("--households", type=int, default=None, help="default 100,000")
    parser.add_argument("--eligible", type=int, default=None, help="default 60,000")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", default="", help="Folder for the SQLite database (kept afterwards).")
    args = parser.parse_args(argv)
    args.households = args.households or (2_000 if args.quick else 100_000)
    args.eligible = args.eligible or (1_200 if args.quick else 60_000)

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-subsidies-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    os.environ.setdefault("LMS_INSTANCE_PATH", str(work / "instance"))
    from lms import create_app
    from lms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": "bench-data-key", "SECRET_KEY": "bench",
                      "QUEUE_IMMEDIATE": True, "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost"})
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    result: dict = {"backend": backend, "households": args.households, "eligible": args.eligible}
    with app.app_context():
        db.drop_all()
        db.create_all()
        from courses.services import seed_catalogue
        from lms.accounts.services import create_user
        from lms.subsidies.rules import set_rule

        seed_catalogue()
        set_rule(None, strand="short-training", programme="yulu-short", amount_fen=150000, evidence="certificate",
                 min_age=16, max_age=45, per="year")
        db.session.commit()
    log(f"loading {args.households:,} households into {backend}")
    result["registry"] = load_registry(app, args.households, args.seed, (COUNTY,))
    result["evidence"] = load_evidence(app, args.eligible, args.seed)
    log(f"registry {result['registry']}, evidence {result['evidence']}")
    with app.app_context():
        if backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        from lms.regions.models import Region

        county = f"{COUNTY}000000"
        create_user(username="xiangzhen", role="official", password="bench-pass-1", region_code=county)
        create_user(username="xianji", role="official", password="bench-pass-1", region_code=county)
        db.session.commit()
        townships = list(db.session.scalars(db.select(Region.code).where(Region.level == 4).order_by(Region.code)))
    result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    result["proposal"] = propose_all(app, townships)
    log(f"proposal: {result['proposal']}")
    batch_ids = result["proposal"].pop("batch_ids")
    result["review_seconds"] = through_review(app, batch_ids)
    result["export"] = export_all(app, batch_ids, work)
    log(f"export: {result['export']}")
    result["reconcile"] = reconcile_all(app, batch_ids, work)
    log(f"reconcile: {result['reconcile']}")
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["limits_seconds"] = {"proposal": 10, "export": 10, "reconcile": 10}
    write_results(f"subsidies-{backend}", result, argv=sys.argv if argv is None else ["bench/subsidies.py", *argv],
                  database_url=url, quick=args.quick)


def propose_all(app, townships: list[str]) -> dict:
    from lms.extensions import db
    from lms.subsidies.batches import create_batch

    times, rows, ids = [], 0, []
    with app.app_context():
        started = time.perf_counter()
        for code in townships:
            t = time.perf_counter()
            batch, proposal = create_batch(None, code, "short-training", PERIOD)
            db.session.commit()
            times.append(time.perf_counter() - t)
            rows += len(proposal.rows)
            ids.append(batch.id)
        total = time.perf_counter() - started
    return {"townships": len(townships), "rows": rows, "seconds": round(total, 2),
            "slowest_township_seconds": round(max(times), 3), "batch_ids": ids}


def through_review(app, batch_ids: list[int]) -> float:
    """Certify every row (one statement a batch), submit and approve as two people, end the notice."""
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.subsidies import review
    from lms.subsidies.models import Batch, Row

    started = time.perf_counter()
    with app.app_context():
        submitter = db.session.scalar(db.select(User).where(User.username == "xiangzhen"))
        approver = db.session.scalar(db.select(User).where(User.username == "xianji"))
        for batch_id in batch_ids:
            batch = db.session.get(Batch, batch_id)
            db.session.execute(db.update(Row).where(Row.batch_id == batch_id).values(status="certified"))
            review.submit(submitter, batch)
            review.approve(approver, batch, on=dt.date(2026, 6, 1))
            review.end_notice(None, batch, on=batch.notice_until)
        db.session.commit()
    return round(time.perf_counter() - started, 2)


def export_all(app, batch_ids: list[int], work: Path) -> dict:
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.subsidies.models import Batch
    from lms.subsidies.payments import export_list

    rows = 0
    size = 0
    with app.app_context():
        actor = db.session.scalar(db.select(User).where(User.username == "xianji"))
        started = time.perf_counter()
        for batch_id in batch_ids:
            data, count, _total = export_list(actor, db.session.get(Batch, batch_id))
            db.session.commit()
            (work / f"list-{batch_id}.xlsx").write_bytes(data)
            rows += count
            size += len(data)
        seconds = time.perf_counter() - started
        again = export_list(actor, db.session.get(Batch, batch_ids[0]))[0]
        db.session.commit()
        same = again == (work / f"list-{batch_ids[0]}.xlsx").read_bytes()
    return {"rows": rows, "seconds": round(seconds, 2), "bytes": size, "second_export_identical": same}


def reconcile_all(app, batch_ids: list[int], work: Path) -> dict:
    """The bank's file per batch (written from the database, not timed), then reconciled."""
    from sqlalchemy import select

    from lms.accounts.models import User
    from lms.extensions import db
    from lms.subsidies.accounts import reveal
    from lms.subsidies.models import Account, Batch, Row
    from lms.subsidies.money import yuan
    from lms.subsidies.payments import reconcile

    rng = random.Random(5)
    with app.app_context():
        for batch_id in batch_ids:
            lines = ["账号,金额,状态,失败原因"]
            for row, account in db.session.execute(select(Row, Account).join(Account, Account.id == Row.account_id)
                                                   .where(Row.batch_id == batch_id, Row.status == "payable")):
                failed = rng.random() < 0.01
                lines.append(f"{reveal(account)},{yuan(row.amount_fen)},{'失败' if failed else '成功'},"
                             f"{'账户已销户' if failed else ''}")
            (work / f"return-{batch_id}.csv").write_text("\n".join(lines) + "\n", encoding="gb18030")
        db.session.rollback()
        actor = db.session.scalar(db.select(User).where(User.username == "xianji"))
        paid = failed = 0
        started = time.perf_counter()
        for batch_id in batch_ids:
            report = reconcile(actor, db.session.get(Batch, batch_id), work / f"return-{batch_id}.csv")
            if report.errors:
                raise RuntimeError(f"batch {batch_id}: {report.errors[:3]}")
            db.session.commit()
            paid, failed = paid + report.paid, failed + report.failed
        seconds = time.perf_counter() - started
    return {"rows": paid + failed, "paid": paid, "failed": failed, "seconds": round(seconds, 2)}


if __name__ == "__main__":
    main()
