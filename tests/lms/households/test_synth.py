import csv
import hashlib

from stdnum.cn import ric

from lms.households.importing.run import import_households
from lms.households.spreadsheet import open_sheet
from lms.households.synth import regions_path, write


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_deterministic_for_a_seed(tmp_path):
    one, two, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write(str(one), 60, seed=4)
    write(str(two), 60, seed=4)
    write(str(other), 60, seed=5)
    assert digest(one) == digest(two) != digest(other)


def test_valid_ids_for_the_county_with_matching_sex_and_birth(tmp_path):
    path = tmp_path / "m.csv"
    result = write(str(path), 300, seed=2, counties=("621123", "621102"))
    rows = read_csv(path)
    assert len(rows) == result["members"] and 300 * 2 < len(rows) < 300 * 6
    sizes = {}
    for r in rows:
        person = r["证件号码"][:18]
        # stdnum's is_valid would also demand that 621123 existed at birth (only since 2003)
        assert ric.calc_check_digit(person) == person[17] and person[:6] == r["村代码"][:6]
        assert ("男" if int(person[16]) % 2 else "女") == r["性别"]
        assert person[6:14] == r["出生日期"].replace("-", "")
        sizes[r["户编号"]] = sizes.get(r["户编号"], 0) + 1
    assert min(sizes.values()) >= 1 and max(sizes.values()) <= 8
    assert {r["村代码"][:6] for r in rows} == {"621123", "621102"}
    causes = [r["主要致贫原因"] for r in rows if r["与户主关系"] == "户主"]
    top = sorted(set(causes), key=causes.count, reverse=True)[:3]
    assert "因病" in top and "缺技术" in top
    regions = read_csv(regions_path(str(path)))
    assert {r["code"] for r in regions} >= {r["村代码"] for r in rows}


def test_a_synthetic_file_imports_cleanly_in_both_formats(tmp_path, db):
    from lms.regions.services import import_regions

    path = tmp_path / "m.xlsx"
    write(str(path), 40, seed=3, fmt="xlsx")
    with open(regions_path(str(path)), encoding="utf-8") as fh:
        import_regions(fh.read())
    sheet = open_sheet(path)
    assert sheet.format == "xlsx" and sheet.header_row == 2 and not sheet.unknown_columns
    report = import_households(path)
    assert report.exit_code == 0 and report.households_created == 40, report.errors[:3]
    gbk = tmp_path / "m.csv"
    write(str(gbk), 40, seed=3, encoding="gb18030")
    again = import_households(gbk)
    assert again.exit_code == 0 and again.unchanged == report.members_created
