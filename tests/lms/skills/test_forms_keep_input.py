"""The offline-class forms, the award revocation and the terminal registration: a refused form comes
back with what was typed and the faulty field marked; nothing changes."""
from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member, make_skill

VILLAGE = "621123100201"


def _count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_new_class_keeps_what_was_typed(regions, client, login, make_user):
    from lms.skills.models import OfflineClass

    skill = make_skill()
    db.session.commit()
    login(client, make_user("trainer"))
    page = client.get("/skills/classes").get_data(as_text=True)
    # The region step by step: counties first; a county's townships once it is chosen (a reload
    # without JavaScript keeps what was typed).
    assert '<option value="621123000000">渭源县</option>' in page and ">示例一村</option>" not in page
    page = client.post_form("/skills/classes", {"title": "马铃薯种植实操班", "region_code": ["621123000000", ""],
                                                "region_step": "region_code"}).get_data(as_text=True)
    assert '<option value="621123100000">清源镇</option>' in page and 'value="马铃薯种植实操班"' in page
    # A county is too wide for a class: the picker is marked.
    page = client.post_form("/skills/classes", {"title": "班", "skill_id": skill.id, "region_code": "621123000000",
                                                "starts_on": "2024-03-01", "ends_on": "2024-03-02"}).get_data(as_text=True)
    assert 'id="region_code-error"' in page and _count(OfflineClass) == 0
    response = client.post_form("/skills/classes", {
        "title": "马铃薯种植实操班", "skill_id": skill.id, "region_code": VILLAGE, "place": "村委会",
        "starts_on": "2024-03-05", "ends_on": "2024-03-01", "hours": "24"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for typed in ('value="马铃薯种植实操班"', 'value="村委会"', 'value="2024-03-05"', 'value="2024-03-01"', 'value="24"',
                  f'<option value="{VILLAGE}" selected>示例一村</option>', f'<option value="{skill.id}" selected>'):
        assert typed in page, typed
    assert 'aria-describedby="ends_on-error"' in page and 'id="ends_on-error"' in page
    assert _count(OfflineClass) == 0
    # no region chosen: the region menu is marked
    page = client.post_form("/skills/classes", {"title": "班", "skill_id": skill.id, "region_code": "",
                                                "starts_on": "2024-03-01", "ends_on": "2024-03-02"}).get_data(as_text=True)
    assert 'id="region_code-error"' in page and 'value="班"' in page
    assert _count(OfflineClass) == 0


def test_class_page_forms_keep_what_was_typed(regions, client, login, make_user):
    from lms.skills.models import ClassSession, OfflineClass, SkillAward, Trainee

    skill = make_skill()
    household = make_household(VILLAGE)
    member = make_member(household, name="学员甲")
    db.session.commit()
    login(client, make_user("trainer"))
    client.post_form("/skills/classes", {"title": "班", "skill_id": skill.id, "region_code": VILLAGE,
                                         "starts_on": "2024-03-01", "ends_on": "2024-03-05"})
    klass = db.session.scalar(db.select(OfflineClass))
    # one known and one unknown ID number: the known one is added, the unknown one stays in the box
    page = client.post_form(f"/skills/classes/{klass.id}/trainees",
                            {"id_numbers": f"{member.plain_id}\n621123198001010000"}).get_data(as_text=True)
    assert 'id="id_numbers-error"' in page and ">621123198001010000</textarea>" in page
    assert _count(Trainee) == 1
    # a session with a date that is not one
    response = client.post_form(f"/skills/classes/{klass.id}/sessions",
                                {"held_on": "3月1日", "hours": "6", "topic": "选种"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="3月1日"' in page and 'value="选种"' in page and 'id="held_on-error"' in page
    assert _count(ClassSession) == 0
    client.post_form(f"/skills/classes/{klass.id}/sessions", {"held_on": "2024-03-01", "hours": "6"})
    session = db.session.scalar(db.select(ClassSession))
    response = client.post_form(f"/skills/sessions/{session.id}/attendance", {"numbers": "1-x"})
    assert response.status_code == 400 and f'id="numbers-{session.id}-error"' in response.get_data(as_text=True)
    assert 'value="1-x"' in response.get_data(as_text=True)
    response = client.post_form(f"/skills/classes/{klass.id}/signoff", {"numbers": "1, 9"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="signoff-error"' in page and 'value="1, 9"' in page
    assert _count(SkillAward) == 0


def test_revoking_without_a_reason_marks_the_reason(regions, client, login, make_user):
    from lms.skills.models import Evidence, SkillAward, Source
    from lms.skills.services import award_skill
    import datetime as dt

    skill = make_skill()
    member = make_member(make_household(VILLAGE))
    award = award_skill(skill_id=skill.id, member=member, evidence=Evidence.training_certificate,
                        source=Source.certificate_import, awarded_on=dt.date(2024, 5, 10))
    db.session.commit()
    login(client, make_user("official", region_code="621123000000"))
    response = client.post_form(f"/skills/awards/{award.id}/revoke", {"reason": "  "})
    assert response.status_code == 400
    assert f'id="reason-{award.id}-error"' in response.get_data(as_text=True)
    assert db.session.get(SkillAward, award.id).revoked_at is None


def test_terminal_registration_keeps_the_name_and_picks_the_village_by_name(regions, client, login, make_user):
    from lms.accounts.models import Terminal

    login(client, make_user("admin"))
    page = client.get("/terminals").get_data(as_text=True)
    assert '<option value="621123000000">渭源县</option>' in page
    # A township is not where a terminal stands: the village step is marked, the townships' villages shown.
    response = client.post_form("/terminals", {"name": "一村服务中心1号机", "region": ["621123000000", "621123100000"]})
    assert response.status_code == 400 and ">示例一村</option>" in response.get_data(as_text=True)
    response = client.post_form("/terminals", {"name": "一村服务中心1号机", "region": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="一村服务中心1号机"' in page and 'id="region-error"' in page
    assert "data_saver" in page and 'name="data_saver" value="1" checked' not in page
    assert _count(Terminal) == 0
    assert client.post_form("/terminals", {"name": "一村服务中心1号机", "region": VILLAGE}).status_code == 302
    assert "示例一村" in client.get("/terminals").get_data(as_text=True).split("<tbody>")[1]
