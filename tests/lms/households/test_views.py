import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.households.models import HouseholdImport, Member
from lms.households.queries import member_by_id_number
from lms.households.importing.run import import_households

from .records import ELSEWHERE, OTHER_VILLAGE, VILLAGE, family, make_id


@pytest.fixture
def registry(regions, export, db):
    """H1 in 示例一村 (清源镇), H2 in 示例三村 (莲峰镇), H3 in 安定区."""
    rows = family("H1", 1) + family("H2", 2, village=OTHER_VILLAGE) + family("H3", 3, village=ELSEWHERE)
    report = import_households(export(rows))
    assert report.exit_code == 0
    db.session.commit()
    return {no: member_by_id_number(make_id("19800101", seed * 10 + 1)).household
            for no, seed in (("H1", 1), ("H2", 2), ("H3", 3))}


@pytest.fixture
def township_official(make_user, login, client):
    user = make_user("official", region_code="621123100000")  # 清源镇
    login(client, user)
    return user


def test_list_shows_only_households_in_the_officials_region(client, registry, township_official):
    page = client.get("/households/").get_data(as_text=True)
    assert ">H1</a>" in page and ">H2</a>" not in page and ">H3</a>" not in page
    assert "张三" in page  # the 户主


def test_county_official_filters(client, registry, make_user, login):
    login(client, make_user("official", region_code="621123000000"))
    page = client.get("/households/").get_data(as_text=True)
    assert ">H1</a>" in page and ">H2</a>" in page and ">H3</a>" not in page
    only = client.get("/households/", query_string={"region": "621123101000"}).get_data(as_text=True)
    assert ">H2</a>" in only and ">H1</a>" not in only
    assert ">H1</a>" in client.get("/households/", query_string={"poverty_status": "0",
                                                          "has_laborers": "yes"}).get_data(as_text=True)
    assert ">H1</a>" not in client.get("/households/", query_string={
        "poverty_status": "4"}).get_data(as_text=True)
    assert ">H1</a>" not in client.get("/households/", query_string={
        "has_laborers": "no"}).get_data(as_text=True)


def test_detail_and_member_actions_are_scoped(client, registry, township_official):
    assert client.get(f"/households/{registry['H1'].id}").status_code == 200
    other = registry["H2"]
    assert client.get(f"/households/{other.id}").status_code == 404
    member = other.members[0]
    for action in ("show-id", "remove", "account"):
        response = client.post_form(f"/households/members/{member.id}/{action}",
                                    {"reason": "x", "pin": "258036"})
        assert response.status_code == 404, action


def test_ids_are_masked_and_show_is_audited(client, registry, township_official, db):
    from lms.audit.models import AuditEntry

    household = registry["H1"]
    number = make_id("19800101", 11)
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert number not in page and number[:6] + "********" + number[-4:] in page
    head = member_by_id_number(number)
    shown = client.post_form(f"/households/members/{head.id}/show-id").get_data(as_text=True)
    assert number in shown
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "households.show_id"))
    assert entry.actor_id == township_official.id and entry.target == f"Member:{head.id}"


def test_export_is_scoped_with_chinese_headers_and_masked_ids(client, registry, township_official):
    response = client.get("/households/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("户编号", "村代码", "村")
    assert [r[0] for r in rows[1:]] == ["H1"]
    number = make_id("19800101", 11)
    assert rows[1][4] == number[:6] + "********" + number[-4:] and rows[1][6] == 2


def test_staff_pages_need_an_official(client, registry, make_user, login):
    assert client.get("/households/").status_code in (302, 401)
    login(client, make_user("learner"))
    assert client.get("/households/").status_code == 403
    assert client.get("/households/export.xlsx").status_code == 403


def test_remove_member_is_recorded(client, registry, township_official, db):
    head = member_by_id_number(make_id("19800101", 11))
    client.post_form(f"/households/members/{head.id}/remove", {"reason": "死亡"})
    db.session.expire_all()
    head = db.session.get(Member, head.id)
    assert head.removed_at is not None and head.removed_reason == "死亡"
    page = client.get(f"/households/{head.household_id}").get_data(as_text=True)
    assert "死亡" in page


def test_upload_preview_confirm_and_report(client, regions, township_official, export, db):
    bad = family("H9", 9)
    bad[0]["证件号码"] = "6.21123E+17"
    rows = family("H1", 1) + bad + family("H2", 2, village=OTHER_VILLAGE)
    path = export(rows, encoding="gbk", before=[["建档立卡贫困人口信息"]])
    with open(path, "rb") as fh:
        preview = client.post_form("/households/import", {"file": (fh, "名单.csv")},
                                   content_type="multipart/form-data")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "gb18030" in text and make_id("19800101", 11) not in text
    rec = db.session.scalar(select(HouseholdImport))
    done = client.post_form(f"/households/import/{rec.id}/confirm", {})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec.id)
    assert rec.status == "done" and rec.exit_code == 1
    assert rec.report["households_created"] == 1  # H2 is outside 清源镇
    codes = sorted(e["code"] for e in rec.report["errors"] if e["code"] != "household_rejected")
    assert codes == ["id_excel_float", "out_of_scope", "out_of_scope", "out_of_scope"]
    assert "Excel" in page and rec.report["errors"][0]["row"] == 6
    progress = client.get(f"/households/import/{rec.id}/progress.json").json
    assert progress["status"] == "done" and progress["progress"]["percent"] == 100


def test_import_status_belongs_to_the_uploader(client, regions, township_official, make_user, login,
                                               db):
    rec = HouseholdImport(user_id=township_official.id, filename="x.csv", status="done", report={})
    db.session.add(rec)
    db.session.commit()
    other = make_user("official", region_code="621123100000")
    client.post_form("/signout", {})
    login(client, other)
    assert client.get(f"/households/import/{rec.id}").status_code == 404


def test_unusable_upload_is_explained(client, regions, township_official, tmp_path):
    response = client.post_form("/households/import",
                                {"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                                content_type="multipart/form-data")
    assert response.status_code == 422 and "表头" in response.get_data(as_text=True)


# Linking at a village terminal.

def link(client, number, name):
    return client.post_form("/households/link", {"id_number": number, "name": name})


def test_link_then_choose_pin_then_signed_in(client, registry, db):
    number = make_id("19820202", 12)
    response = link(client, number.lower(), "李四")
    assert response.status_code == 302 and response.headers["Location"].endswith("/households/link/pin")
    bad = client.post_form("/households/link/pin", {"pin": "258036", "pin_again": "630852"})
    assert bad.status_code == 200 and "不一致" in bad.get_data(as_text=True)
    done = client.post_form("/households/link/pin", {"pin": "258036", "pin_again": "258036"})
    assert done.status_code == 302
    from lms.accounts.models import User
    user = db.session.scalar(select(User).where(User.member_id.is_not(None)))
    assert user.member_id == member_by_id_number(number).id and user.region_code == VILLAGE
    # signed in now, and later by ID number + PIN
    client.post_form("/signout", {})
    assert client.post_form("/signin", {"identifier": number, "pin": "258036"}).status_code == 302


def test_link_failures_each_have_a_clear_message(client, registry, make_user):
    unknown = link(client, make_id("19900101", 99), "王五")
    assert unknown.status_code == 422 and "没有找到" in unknown.get_data(as_text=True)
    wrong = link(client, make_id("19820202", 12), "李五")
    assert wrong.status_code == 422 and "姓名与" in wrong.get_data(as_text=True)
    assert link(client, make_id("19820202", 12), "李四").status_code == 302
    client.post_form("/households/link/pin", {"pin": "258036", "pin_again": "258036"})
    client.post_form("/signout", {})
    again = link(client, make_id("19820202", 12), "李四")
    assert again.status_code == 422 and "已有学员账号" in again.get_data(as_text=True)


def test_linking_is_rate_limited(client, registry):
    statuses = [link(client, make_id("19900101", 99), "王五").status_code for _ in range(21)]
    assert statuses[:20] == [422] * 20 and statuses[20] == 429


def test_non_registry_learner_registers(client, registry, db):
    from lms.accounts.models import User

    taken = client.post_form("/households/register", {
        "identifier": make_id("19820202", 12), "name": "李四", "village": VILLAGE,
        "pin": "258036", "pin_again": "258036"})
    assert taken.status_code == 422 and "建档立卡名单" in taken.get_data(as_text=True)
    ok = client.post_form("/households/register", {
        "identifier": "13900001111", "name": "赵六", "village": VILLAGE, "pin": "258036",
        "pin_again": "258036"})
    assert ok.status_code == 302
    user = db.session.scalar(select(User).where(User.display_name == "赵六"))
    assert user.member_id is None and user.region_code == VILLAGE


def test_village_is_chosen_step_by_step(client, regions):
    """Province scale: each page lists one region's children, never every village at once."""
    import re

    def options(page):
        return re.findall(r'<a class="btn" href="/households/register\?(area|village)=(\d+)">([^<]+)<', page)

    top = client.get("/households/register").get_data(as_text=True)
    # one province and one city: the picker goes straight to the counties
    assert {(k, name) for k, _code, name in options(top)} == {("area", "渭源县"), ("area", "安定区")}
    county = client.get("/households/register?area=621123000000").get_data(as_text=True)
    assert {name for _k, _c, name in options(county)} == {"清源镇", "莲峰镇"}
    assert "示例一村" not in county
    township = client.get("/households/register?area=621123100000").get_data(as_text=True)
    assert ("village", VILLAGE) in {(k, c) for k, c, _n in options(township)}
    form = client.get(f"/households/register?village={VILLAGE}").get_data(as_text=True)
    assert "清源镇 · 示例一村" in form and f'value="{VILLAGE}"' in form and 'name="pin"' in form
    # a township code is not a village: back to choosing
    assert 'name="pin"' not in client.get("/households/register?village=621123100000").get_data(as_text=True)


def test_registration_without_a_village_changes_nothing(client, regions, db):
    from lms.accounts.models import User

    for village in ("", "621123100000", "999999999999"):
        r = client.post_form("/households/register", {"identifier": "13900002222", "name": "钱七",
                                                      "village": village, "pin": "258036", "pin_again": "258036"})
        assert r.status_code == 422 and "请选择" in r.get_data(as_text=True), village
    assert db.session.scalar(select(User).where(User.display_name == "钱七")) is None


def test_a_village_terminal_registers_learners_in_its_own_village(client, login, make_user, regions, db):
    from lms.accounts.models import User

    login(client, make_user("admin"))
    assert client.post_form("/terminals", {"name": "示例一村服务站", "region": VILLAGE}).status_code == 302
    client.post_form("/signout", {})
    form = client.get("/households/register").get_data(as_text=True)
    assert "示例一村" in form and "更改" not in form  # no choice to make on the village's own terminal
    r = client.post_form("/households/register", {"identifier": "13900003333", "name": "孙八",
                                                  "village": OTHER_VILLAGE, "pin": "258036", "pin_again": "258036"})
    assert r.status_code == 302
    assert db.session.scalar(select(User).where(User.display_name == "孙八")).region_code == VILLAGE


def test_official_creates_and_resets_a_member_account(client, registry, township_official, db):
    from lms.accounts.models import User

    member = member_by_id_number(make_id("19820202", 12))
    client.post_form(f"/households/members/{member.id}/account", {"pin": "581736"})
    user = db.session.scalar(select(User).where(User.member_id == member.id))
    assert user is not None and user.check_password("581736")
    client.post_form(f"/households/members/{member.id}/account", {"pin": "730184"})
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("730184")


def test_a_half_finished_link_expires(client, registry, monkeypatch):
    from lms.households import views

    assert link(client, make_id("19820202", 12), "李四").status_code == 302
    monkeypatch.setattr(views, "LINK_PIN_SECONDS", 0)
    response = client.get("/households/link/pin")
    assert response.status_code == 302 and response.headers["Location"].endswith("/households/link")
