"""Rotating LMS_DATA_KEY: ID numbers under the old key still read and match until `flask keys
rotate-data` has moved them (resumable), learners still sign in, imports wait for it."""
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.households.models import Member
from lms.households.idnumbers import digest_input
from lms.households.queries import member_by_id_number
from lms.households.importing.run import import_households
from lms.households.services import create_member_account

from .records import family, make_id

OLD, NEW = "test-data-key", "rotated-data-key"


def _signin(app, identifier, pin):
    client = app.test_client()
    return client.post_form("/signin", {"identifier": identifier, "pin": pin})


def test_rotation_of_the_data_key(app, regions, export, db, runner, make_user, monkeypatch):
    assert app.config["DATA_KEY"] == OLD
    path = export(family("H1", 1) + family("H2", 2))
    assert import_households(path).exit_code == 0
    head_id = make_id("19800101", 11)
    linked = create_member_account(member_by_id_number(head_id), "135792")
    phone_learner = make_user("learner", password="246813")
    db.session.commit()
    members = db.session.scalar(select(func.count(Member.id)))

    monkeypatch.setitem(app.config, "DATA_KEY", NEW)
    monkeypatch.setitem(app.config, "DATA_KEY_FALLBACKS", [OLD])
    # Before the rotation: found, readable, and everyone signs in.
    member = member_by_id_number(head_id)
    assert member is not None and member.name == "张三"
    from lms.households.services import cipher, reveal_id

    assert reveal_id(member, None) == head_id
    db.session.rollback()
    assert _signin(app, phone_learner.plain_identifier, "246813").status_code == 302
    db.session.expire_all()
    from lms.crypto import keyed_hash, normalize_identifier

    assert db.session.get(User, phone_learner.id).login_key == keyed_hash(
        normalize_identifier(phone_learner.plain_identifier), "login")  # moved at sign-in
    # An import now would not recognise numbers stored under the old key: it waits, changing nothing.
    refused = import_households(export(family("H1", 1)))
    assert refused.exit_code == 2 and refused.errors[0].code == "data_key_rotating"
    db.session.rollback()
    assert db.session.scalar(select(func.count(Member.id))) == members

    # Interrupted after one member, then run again: resumes, each member moved once.
    from lms.deploy.keys import rotate_batch, rotation_record

    row = rotation_record()
    assert rotate_batch(row, 1) == 1
    db.session.commit()
    result = runner.invoke(args=["keys", "rotate-data", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert f"Done: {members} members re-encrypted" in result.output and "1 learner sign-ins moved" in result.output
    again = runner.invoke(args=["keys", "rotate-data"])
    assert again.exit_code == 0 and "Already done" in again.output

    # Without the old key: every number reads and matches under the new key alone.
    monkeypatch.setitem(app.config, "DATA_KEY_FALLBACKS", [])
    db.session.expire_all()
    keyed = cipher()
    assert keyed.old == ()
    for sealed, digest in db.session.execute(select(Member.id_enc, Member.id_hash)):
        assert digest_input(keyed, keyed.decrypt(sealed)) == digest
    assert member_by_id_number(head_id).id == member.id
    assert _signin(app, head_id, "135792").status_code == 302
    assert db.session.get(User, linked.id).login_key == keyed_hash(head_id, "login")
    # Importing the same households again changes nothing and doubles nothing.
    report = import_households(export(family("H1", 1) + family("H2", 2)))
    db.session.commit()
    assert report.exit_code == 0 and report.members_created == 0
    assert db.session.scalar(select(func.count(Member.id))) == members


def test_rotate_data_without_an_old_key_says_so(runner):
    result = runner.invoke(args=["keys", "rotate-data"])
    assert result.exit_code == 1 and "LMS_DATA_KEY_OLD is not set" in result.output
