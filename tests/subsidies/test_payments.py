"""The bank's payment list (deterministic, totals row) and reconciliation of the bank's return file
(row errors mark nothing; totals reconcile to the fen)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from lms.extensions import db
from tests.subsidies.fixtures import approved_batch, rows_of


@pytest.fixture
def payable(world):
    from lms.subsidies import review

    batch = approved_batch(world)
    review.end_notice(None, batch, on=batch.notice_until)
    db.session.commit()
    return batch


def export(runner, batch, path, by=None):
    args = ["subsidies", "batch", "export", str(batch.id), "--out", str(path)]
    return runner.invoke(args=args + (["--by", by.username] if by else []))


def sheet_rows(path):
    return [list(r) for r in load_workbook(path).active.iter_rows(values_only=True)]


def test_the_payment_list_has_the_bank_columns_a_totals_row_and_is_the_same_file_twice(world, payable, runner,
                                                                                     tmp_path):
    import time

    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert export(runner, payable, first, world.county).exit_code == 0
    time.sleep(1.1)  # the workbook and zip entries would carry the current second
    assert export(runner, payable, second, world.county2).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    rows = sheet_rows(first)
    assert rows[0] == ["序号", "户名", "账号", "开户银行", "金额", "摘要"]
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][4])) == Decimal("4500") and len(rows) == 5
    # 张三 and 李四 are paid into their household's account (张三's), the number in full, as text.
    assert [r[1] for r in rows[1:4]].count("张三") == 2
    assert all(isinstance(r[2], str) and len(r[2]) == 18 for r in rows[1:4])


def test_only_a_county_official_downloads_it(world, payable, runner, tmp_path):
    result = export(runner, payable, tmp_path / "x.xlsx", world.township)
    assert result.exit_code == 2 and not (tmp_path / "x.xlsx").exists()
    from lms.audit.models import AuditEntry

    assert db.session.query(AuditEntry).filter_by(action="subsidies.payment_export").count() == 0


def _bank_file(tmp_path, lines):
    path = tmp_path / "return.csv"
    path.write_text("账号,金额,状态,失败原因\n" + "".join(",".join(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _exported(runner, world, batch, tmp_path):
    out = tmp_path / "list.xlsx"
    assert export(runner, batch, out, world.county).exit_code == 0
    return [(r[2], f"{Decimal(str(r[4])):.2f}") for r in sheet_rows(out)[1:-1]]


def reconcile(runner, batch, path):
    result = runner.invoke(args=["subsidies", "batch", "reconcile", str(batch.id), str(path), "--json"])
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("mistake", ["unknown_account", "amount_mismatch", "duplicate_row"])
def test_a_return_file_with_a_wrong_row_marks_nothing(world, payable, runner, tmp_path, mistake):
    lines = [[number, amount, "成功", ""] for number, amount in _exported(runner, world, payable, tmp_path)]
    if mistake == "unknown_account":
        lines[0][0] = "6228480099999999999"
    elif mistake == "amount_mismatch":
        lines[1][1] = "1600.00"
    else:
        lines.append(list(lines[2]))
    code, report = reconcile(runner, payable, _bank_file(tmp_path, lines))
    assert code == 1 and not report["marked"]
    assert [e["code"] for e in report["errors"]] == [mistake] and report["errors"][0]["message"]
    assert {r.status for r in rows_of(payable.id)} == {"payable"}
    assert report["paid_yuan"] == "0.00" and report["outstanding_yuan"] == "4500.00"


def test_paid_and_failed_rows_reconcile_to_the_fen_and_failed_people_return_to_the_pool(world, payable, runner,
                                                                                      tmp_path):
    exported = _exported(runner, world, payable, tmp_path)
    lines = [[number, amount, "成功", ""] for number, amount in exported]
    wang_number = next(n for n, _ in exported if n.endswith(f"{world.wang.id:010d}"))
    for line in lines:
        if line[0] == wang_number:
            line[2], line[3] = "失败", "账户已销户"
    code, report = reconcile(runner, payable, _bank_file(tmp_path, lines))
    assert code == 0, report
    assert (report["paid"], report["failed"]) == (2, 1)
    assert (report["exported_yuan"], report["paid_yuan"], report["failed_yuan"], report["outstanding_yuan"]) == (
        "4500.00", "3000.00", "1500.00", "0.00")
    statuses = {r.member_id: (r.status, r.bank_message) for r in rows_of(payable.id)}
    assert statuses[world.wang.id] == ("failed", "账户已销户")
    # The next batch proposes 王五 again (his row failed); the paid ones are excluded as already paid.
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", payable.region_code, "--strand",
                                 "short-training", "--period", "2026", "--json"])
    data = json.loads(result.output)
    assert data["rows"] == 1 and data["total_yuan"] == "1500.00"
    assert {e["member"]: e["reason"] for e in data["excluded"]}[world.zhang.id] == "already_paid"
