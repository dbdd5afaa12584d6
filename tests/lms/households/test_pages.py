"""The registry pages as an official reads them: names instead of codes, "—" for empty fields, member
actions in their own row, a removal confirmed with its reason, a shown ID number that hides again."""
from lms.households.models import Member
from lms.households.queries import member_by_id_number
from lms.households.importing.run import import_households

from .records import family, make_id


def _registry(export, db):
    assert import_households(export(family("H1", 1))).exit_code == 0
    db.session.commit()
    return member_by_id_number(make_id("19800101", 11))


def test_list_shows_village_names_and_filters_by_a_named_region(client, regions, export, db, make_user, login):
    _registry(export, db)
    login(client, make_user("official", region_code="621123000000"))
    page = client.get("/households/").get_data(as_text=True)
    assert "<td>示例一村</td>" in page and "<td>621123100201</td>" not in page
    # The county official's townships; the whole county is the empty choice.
    assert '<option value="621123100000">清源镇</option>' in page and ">（渭源县全部）</option>" in page
    only = client.get("/households/", query_string={"region": "621123100201"}).get_data(as_text=True)
    assert ">H1</a>" in only and '<option value="621123100201" selected>示例一村</option>' in only
    # Step by step (what the form sends): the township, then its village; a village left over from
    # another township is dropped and the township filters.
    steps = client.get("/households/?region=621123100000&region=621123100201").get_data(as_text=True)
    assert ">H1</a>" in steps and '<option value="621123100201" selected>示例一村</option>' in steps
    stale = client.get("/households/?region=621123101000&region=621123100201").get_data(as_text=True)
    assert ">H1</a>" not in stale and '<option value="621123101000" selected>莲峰镇</option>' in stale


def test_member_actions_sit_in_their_own_row_and_empty_fields_show_a_dash(client, regions, export, db, make_user,
                                                                           login):
    head = _registry(export, db)
    login(client, make_user("official", region_code="621123100000"))
    page = client.get(f"/households/{head.household_id}").get_data(as_text=True)
    assert page.count('<tr class="member-actions">') == 3 and "张三的操作" in page
    assert "<dt>识别标准</dt><dd>—</dd>" in page  # the export has no 识别标准 column


def test_removal_without_a_reason_is_marked_and_changes_nothing(client, regions, export, db, make_user, login):
    head = _registry(export, db)
    login(client, make_user("official", region_code="621123100000"))
    response = client.post_form(f"/households/members/{head.id}/remove", {"reason": "  "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="reason-{head.id}-error"' in page and "请填写移出原因。" in page
    db.session.expire_all()
    assert db.session.get(Member, head.id).removed_at is None


def test_a_bad_pin_is_marked_beside_the_field(client, regions, export, db, make_user, login):
    from lms.accounts.models import User

    head = _registry(export, db)
    login(client, make_user("official", region_code="621123100000"))
    before = db.session.scalar(db.select(db.func.count(User.id)))
    response = client.post_form(f"/households/members/{head.id}/account", {"pin": "12ab"})
    assert response.status_code == 400
    assert f'id="pin-{head.id}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_a_shown_id_number_says_it_was_logged_and_hides_again(client, regions, export, db, make_user, login):
    head = _registry(export, db)
    login(client, make_user("official", region_code="621123100000"))
    page = client.post_form(f"/households/members/{head.id}/show-id").get_data(as_text=True)
    number = make_id("19800101", 11)
    assert f'data-masked="{number[:6]}********{number[-4:]}" data-seconds="60">{number}</strong>' in page
    assert "本次查看已记入日志；1 分钟后号码会重新隐藏。" in page and "reveal.js" in page


def test_moving_a_household_picks_the_village_by_name(client, regions, export, db, make_user, login):
    head = _registry(export, db)
    login(client, make_user("official", region_code="621123000000"))
    page = client.get(f"/households/{head.household_id}").get_data(as_text=True)
    assert 'id="village-4" name="village"' in page and '<option value="621123100000">清源镇</option>' in page
    # Without JavaScript: the township's villages come with the next-level button; nothing moves.
    step = client.post_form(f"/households/{head.household_id}/move", {"village": ["621123100000", ""],
                                                                     "region_step": "village"})
    assert step.status_code == 200 and ">示例二村</option>" in step.get_data(as_text=True)
    # A township is not a village: refused, the picker marked.
    refused = client.post_form(f"/households/{head.household_id}/move", {"village": ["621123100000", ""]})
    assert refused.status_code == 422 and 'id="village-error"' in refused.get_data(as_text=True)
    response = client.post_form(f"/households/{head.household_id}/move", {"village": ["621123100000", "621123100202"]})
    assert response.status_code == 302


def _web_import(client, export, rows, db):
    from lms.households.models import HouseholdImport

    with open(export(rows), "rb") as fh:
        client.post_form("/households/import", {"file": (fh, "名单.csv")}, content_type="multipart/form-data")
    rec = db.session.scalar(db.select(HouseholdImport).order_by(HouseholdImport.id.desc()))
    done = client.post_form(f"/households/import/{rec.id}/confirm", {})
    return client.get(done.headers["Location"]).get_data(as_text=True)


def test_import_report_groups_repeated_warnings_above_the_errors(client, regions, export, db, make_user, login):
    login(client, make_user("official", region_code="621123100000"))
    rows = []
    for n in range(1, 5):  # four households whose spouses carry 渭源县's code from before 2003
        household = family(f"H{n}", n)
        household[1]["证件号码"] = make_id("19700101", 2 * n, area="622426")
        rows += household
    page = _web_import(client, export, rows, db)
    assert "<strong>4 行：</strong>" in page and "622426" in page and "第 3、6、9、12 行" in page
    assert page.count("622426") == 1  # one line, not four


def test_a_duplicate_id_names_the_other_row(client, regions, export, db, make_user, login):
    login(client, make_user("official", region_code="621123100000"))
    twice = family("H2", 2)
    twice[1]["证件号码"] = make_id("19820202", 12)  # the spouse of H1, on row 3
    page = _web_import(client, export, family("H1", 1) + twice, db)
    assert "该证件号码与本文件第 3 行重复。" in page


def test_a_duplicate_past_the_remembered_rows_names_the_household(export, monkeypatch, regions, db):
    from lms.households.importing import pipeline, writer
    from lms.households.messages import issue_dict

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 3)
    monkeypatch.setattr(writer, "ROWS_REMEMBERED", 0)
    twice = family("H3", 3)
    twice[1]["证件号码"] = make_id("19820202", 12)  # the spouse of H1, two chunks earlier
    report = import_households(export(family("H1", 1) + family("H2", 2) + twice))
    messages = [issue_dict(e)["message"] for e in report.errors if e.code == "id_duplicate"]
    assert messages == ["该证件号码与本文件前面户 H1 中的成员重复。"]


def test_a_move_without_a_village_is_marked_and_changes_nothing(client, regions, export, db, make_user, login):
    from lms.households.models import Household

    head = _registry(export, db)
    login(client, make_user("official", region_code="621123000000"))
    response = client.post_form(f"/households/{head.household_id}/move", {"village": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="village-error"' in page and "<details open>" in page
    db.session.expire_all()
    assert db.session.get(Household, head.household_id).village_code == "621123100201"
