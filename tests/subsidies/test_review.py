"""The review chain: certify/exclude, submit, four eyes, notice, objections hold rows, end of notice,
revoked certificates before approval, and the audit trail of every step."""
from __future__ import annotations

import datetime as dt

import pytest

from lms.extensions import db
from tests.subsidies.fixtures import NEIGHBOUR, TOWNSHIP, VILLAGE, approved_batch, audit_actions, rows_of


def new_batch(world):
    from lms.subsidies.batches import create_batch

    batch, _proposal = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    db.session.commit()
    return batch


def through_villages(world, batch):
    from lms.subsidies import review

    rows = rows_of(batch.id)
    review.certify(world.village, batch, [r.id for r in rows if r.village_code == VILLAGE])
    review.certify(world.neighbour, batch, [r.id for r in rows if r.village_code == NEIGHBOUR])
    db.session.commit()


def approved(world, on=dt.date(2026, 6, 1)):
    return approved_batch(world, on)


def test_a_village_official_certifies_only_rows_of_their_village(world):
    from lms.regions.scope import OutOfScope
    from lms.subsidies import review

    batch = new_batch(world)
    wang_row = next(r for r in rows_of(batch.id) if r.member_id == world.wang.id)
    with pytest.raises(OutOfScope):
        review.certify(world.village, batch, [wang_row.id])
    db.session.rollback()
    assert rows_of(batch.id)[0].status == "proposed"


def test_the_township_cannot_submit_before_every_row_is_decided(world):
    from lms.subsidies import review
    from lms.subsidies.batches import BatchError

    batch = new_batch(world)
    rows = rows_of(batch.id)
    review.certify(world.village, batch, [r.id for r in rows if r.village_code == VILLAGE])
    with pytest.raises(BatchError):
        review.submit(world.township, batch)
    wang_row = next(r for r in rows if r.member_id == world.wang.id)
    review.exclude(world.neighbour, batch, wang_row.id, "已外出就业，本人放弃")
    review.submit(world.township, batch)
    db.session.commit()
    assert batch.status == "submitted"
    assert rows_of(batch.id)[-1].reason == "已外出就业，本人放弃"


def test_four_eyes_the_submitter_cannot_approve(world):
    from lms.subsidies import review
    from lms.subsidies.batches import BatchError

    batch = new_batch(world)
    through_villages(world, batch)
    review.submit(world.county, batch)  # a county official may submit …
    db.session.commit()
    with pytest.raises(BatchError):
        review.approve(world.county, batch)  # … but then another must approve
    db.session.rollback()
    assert batch.status == "submitted" and batch.approved_by_id is None
    review.approve(world.county2, batch)
    assert batch.status == "notice" and batch.approved_by_id == world.county2.id


def test_a_township_official_cannot_approve(world):
    from lms.subsidies import review
    from lms.subsidies.batches import BatchError

    batch = new_batch(world)
    through_villages(world, batch)
    review.submit(world.county, batch)
    with pytest.raises(BatchError):
        review.approve(world.township, batch)


def test_a_certificate_revoked_before_approval_takes_its_row_out(world):
    from sqlalchemy import select

    from lms.skills.models import SkillAward
    from lms.skills.services import revoke_award
    from lms.subsidies import review

    batch = new_batch(world)
    through_villages(world, batch)
    review.submit(world.township, batch)
    award = db.session.scalar(select(SkillAward).where(SkillAward.member_id == world.wang.id))
    revoke_award(award, "证书造假", None, refresh=False)
    db.session.commit()
    assert review.approve(world.county, batch) == 1
    db.session.commit()
    wang_row = next(r for r in rows_of(batch.id) if r.member_id == world.wang.id)
    assert wang_row.status == "excluded" and wang_row.reason


def test_notice_days_come_from_the_setting_and_unheld_rows_become_payable_after_it(world):
    from lms.settings import set_setting
    from lms.subsidies import review
    from lms.subsidies.batches import BatchError

    set_setting("subsidies.notice_days", 5)
    batch = approved(world, on=dt.date(2026, 6, 1))
    assert batch.notice_until == dt.date(2026, 6, 6)
    rows = rows_of(batch.id)
    held = next(r for r in rows if r.member_id == world.wang.id)
    objection = review.raise_objection(world.neighbour, batch, held.id, "群众反映其未实际参加培训")
    db.session.commit()
    with pytest.raises(BatchError):
        review.end_notice(None, batch, on=dt.date(2026, 6, 5))
    assert review.end_notice(None, batch, on=dt.date(2026, 6, 6)) == 2
    db.session.commit()
    statuses = {r.member_id: (r.status, r.held) for r in rows_of(batch.id)}
    assert statuses[world.wang.id] == ("certified", True)
    assert statuses[world.zhang.id] == ("payable", False)
    review.settle(world.county, objection, "dismissed", "经核实，本人参加了全部课程")
    db.session.commit()
    assert {r.member_id: r.status for r in rows_of(batch.id)}[world.wang.id] == "payable"


def test_an_upheld_objection_takes_the_row_out_and_frees_the_person(world):
    from lms.subsidies import review

    batch = approved(world)
    row = rows_of(batch.id)[0]
    objection = review.raise_objection(world.county, batch, row.id, "冒名顶替")
    review.settle(world.county, objection, "upheld", "经调查属实")
    review.end_notice(None, batch, on=batch.notice_until)
    db.session.commit()
    assert rows_of(batch.id)[0].status == "excluded"


def test_every_step_is_in_the_batch_history(world):
    from lms.subsidies import review
    from lms.subsidies.queries import batch_history

    batch = approved(world)
    review.end_notice(None, batch, on=batch.notice_until)
    db.session.commit()
    steps = [entry.action for entry in batch_history(batch)]
    assert steps == ["subsidies.batch_create", "subsidies.rows_certify", "subsidies.rows_certify",
                     "subsidies.batch_submit", "subsidies.batch_approve", "subsidies.notice_end"]
    assert all(e.actor_id for e in batch_history(batch)[:-1])
    assert "subsidies.batch_approve" in audit_actions()
