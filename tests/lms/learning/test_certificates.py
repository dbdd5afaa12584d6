"""The ID number on a certificate: the registry member's, masked the one way, never a phone."""
from lms.crypto import mask_id
from lms.extensions import db
from tests.lms.stats.factories import id_number, make_household, make_member


def test_linked_learner_gets_the_members_id_number_masked(client, login, make_user, make_course, regions):
    from lms.learning.services import issue_certificate

    member = make_member(make_household(), name="李梅")
    learner = make_user("learner", region_code="621123100201", display_name="李梅")  # signs in with a phone
    learner.member_id = member.id
    db.session.commit()
    course = make_course()
    cert = issue_certificate(learner.id, course)
    db.session.commit()
    assert cert.masked_id == mask_id(member.plain_id)
    assert cert.masked_id.startswith(member.plain_id[:6]) and cert.masked_id.endswith(member.plain_id[-4:])
    login(client, learner)
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert cert.masked_id in page and member.plain_id not in page
    assert cert.masked_id not in client.get(f"/verify/{cert.code}").get_data(as_text=True)


def test_unlinked_learner_signing_in_with_an_id_number_gets_it_masked(make_user, make_course, regions):
    from lms.learning.services import issue_certificate

    number = id_number(19900315)
    learner = make_user("learner", region_code="621123100201", username=number)
    cert = issue_certificate(learner.id, make_course())
    assert cert.masked_id == mask_id(number)


def test_phone_is_not_printed_as_an_id_number(make_user, make_course, regions):
    from lms.learning.services import issue_certificate

    learner = make_user("learner", region_code="621123100201", username="13912345678")
    cert = issue_certificate(learner.id, make_course())
    assert cert.masked_id == ""


def _issued_at(make_user, make_course, when):
    from lms.learning.services import issue_certificate

    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    cert = issue_certificate(learner.id, make_course())
    cert.issued_at = when
    db.session.commit()
    return learner, cert


def test_certificate_shows_a_formal_date_in_the_learners_language(client, login, make_user, make_course, regions):
    import re
    from datetime import datetime, timezone

    # 17:30 UTC on 1 December is 01:30 on 2 December in Shanghai: the day printed is Shanghai's.
    learner, cert = _issued_at(make_user, make_course, datetime(2026, 12, 1, 17, 30, 5, tzinfo=timezone.utc))
    login(client, learner)
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert '<dd class="cert-date">2026年12月2日</dd>' in page
    assert not re.search(r"\d{1,2}:\d{2}|UTC|GMT|\+08|CST", re.sub(r"<[^>]+>", " ", page.split("<main", 1)[1]))
    assert "2026年12月2日" in client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "2026年12月2日" in client.get("/learn").get_data(as_text=True)
    client.post_form("/language", {"lang": "en", "next": f"/certificates/{cert.id}"})
    assert '<dd class="cert-date">December 2, 2026</dd>' in client.get(f"/certificates/{cert.id}").get_data(as_text=True)


def test_certificate_has_a_print_button_and_a_print_style(client, login, make_user, make_course, regions):
    from datetime import datetime, timezone

    learner, cert = _issued_at(make_user, make_course, datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc))
    login(client, learner)
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert '<button type="button" id="print" class="primary big" hidden>打印</button>' in page
    assert "certificate.js" in page
    with client.get("/static/app.css") as r:
        css = r.get_data(as_text=True)
    print_rules = css[css.index("@media print{\n  @page"):]
    assert ".noprint" in print_rules and ".top" in print_rules  # only the certificate is printed
