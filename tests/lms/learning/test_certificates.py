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
