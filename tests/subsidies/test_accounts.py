"""Payment accounts: sealed at rest, masked to the last 4, history on change, holder in the household,
and the import with the registry import's report keys, row numbers and exit codes."""
from __future__ import annotations

import json

import pytest

from lms.extensions import db
from tests.subsidies.fixtures import give_account


def _history(household_id):
    from lms.subsidies.accounts import history

    db.session.expire_all()
    return history(household_id)


def test_the_number_is_not_readable_from_the_database_and_pages_show_the_last_four(world):
    account = give_account(world.li, number="6228480012345678901")
    assert b"6228480012345678901" not in account.number_enc
    assert account.masked == "****8901"
    from lms.subsidies.accounts import reveal

    assert reveal(account) == "6228480012345678901"


def test_a_changed_account_is_history_never_overwritten(world):
    first = give_account(world.zhang, number="6228480000000000001")
    second = give_account(world.zhang, number="6228480000000000002")
    db.session.commit()
    accounts = _history(world.zhang.household_id)
    assert [a.id for a in accounts][:2] == [second.id, first.id]
    assert accounts[0].current is True and accounts[1].current is None and accounts[1].replaced_at is not None
    assert accounts[1].last4 == "0001"


def test_an_account_whose_holder_is_not_in_the_household_is_refused(world):
    from lms.subsidies.accounts import AccountError, set_account

    with pytest.raises(AccountError):
        set_account(None, world.zhang.household_id, world.wang.id, world.wang.name, "农行", "6228480000000000009")
    with pytest.raises(AccountError):  # 户名 not the member's name
        set_account(None, world.zhang.household_id, world.zhang.id, "王五", "农行", "6228480000000000009")


def test_import_reports_rows_as_the_official_numbers_them_and_exits_1_on_rejected_rows(world, runner, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(("证件号码,户名,开户银行,账号\n"
                      f"{world.li.plain_id},李四,甘肃农信,6228 4800 0000 1111 222\n"
                      f"{world.wang.plain_id},张三,甘肃农信,6228480000001111333\n"
                      "62112319900101999X,无名,甘肃农信,6228480000001111444\n").encode("gb18030"))
    report = tmp_path / "r.json"
    result = runner.invoke(args=["subsidies", "accounts", "import", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["encoding"] and data["accounts_changed"] == 1 and data["rejected"] == 2
    assert {e["row"] for e in data["errors"]} == {3, 4}
    assert all(e["message"] for e in data["errors"])
    assert _history(world.li.household_id)[0].last4 == "1222"


def test_an_unusable_file_exits_2_and_imports_nothing(world, runner, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("姓名,地址\n张三,村里\n", encoding="utf-8")
    result = runner.invoke(args=["subsidies", "accounts", "import", str(path)])
    assert result.exit_code == 2


def test_an_official_imports_accounts_only_for_their_region_and_the_message_names_nothing_there(
        world, runner, tmp_path):
    before = [(a.last4, a.current) for a in _history(world.li.household_id)]
    path = tmp_path / "accounts.csv"
    path.write_text(f"证件号码,户名,开户银行,账号\n{world.li.plain_id},李四,甘肃农信,6228480000001111999\n",
                    encoding="utf-8")
    report = tmp_path / "r.json"
    result = runner.invoke(args=["subsidies", "accounts", "import", str(path), "--by", world.sibling.username,
                                 "--report", str(report)])
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [(e["row"], e["code"]) for e in data["errors"]] == [(2, "registered_elsewhere")]
    assert "清源" not in data["errors"][0]["message"] and data["accounts_created"] == 0
    assert [(a.last4, a.current) for a in _history(world.li.household_id)] == before


def test_a_file_unreadable_part_way_imports_nothing_not_even_its_good_first_rows(world, runner, tmp_path):
    """The reader checks the encoding on the file's first 256 KB; a bad byte after that ends the
    rows there (lms.spreadsheets.report.ImportReport.read): exit 2, and the rows before it that
    were good change nothing either."""
    before = [(a.last4, a.current) for a in _history(world.li.household_id)]
    filler = "".join(f"11111111111111111{i % 10},某,某,1\n" for i in range(10_000))
    path = tmp_path / "accounts.csv"
    path.write_bytes((f"证件号码,户名,开户银行,账号\n{world.li.plain_id},李四,甘肃农信,6228480000001111999\n"
                      + filler).encode("utf-8") + b"\xff\xfe,bad,row,1\n")
    report = tmp_path / "r.json"
    result = runner.invoke(args=["subsidies", "accounts", "import", str(path), "--report", str(report)])
    assert result.exit_code == 2, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["errors"][0]["code"] == "encoding"
    assert [(a.last4, a.current) for a in _history(world.li.household_id)] == before


def test_a_dry_run_changes_no_account(world, runner, tmp_path):
    before = [(a.last4, a.current) for a in _history(world.li.household_id)]
    path = tmp_path / "accounts.csv"
    path.write_text(f"证件号码,户名,开户银行,账号\n{world.li.plain_id},李四,甘肃农信,6228480000001111999\n",
                    encoding="utf-8")
    result = runner.invoke(args=["subsidies", "accounts", "import", str(path), "--dry-run"])
    assert result.exit_code == 0 and "accounts_changed=1" in result.output and "dry run" in result.output
    assert [(a.last4, a.current) for a in _history(world.li.household_id)] == before
