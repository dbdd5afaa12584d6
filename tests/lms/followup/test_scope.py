"""Every follow-up page, form, export and the figures' API attacked by an official of the sibling
township: a 404 or a refusal that names nobody, and nothing changed."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from tests.lms.followup.conftest import SIBLING_VILLAGE, VILLAGE, assignments, figures, in_days


def _deferrals() -> int:
    from lms.followup.models import Deferral

    return db.session.scalar(select(func.count()).select_from(Deferral))


def test_a_sibling_township_official_can_read_nothing(client, login, world):
    from lms.followup.services import assign

    assign(None, [world.zhang.id], course_id=world.potato.id, due_on=in_days(10))
    db.session.commit()
    login(client, world.sibling_official)
    for path in (f"/followup?region={VILLAGE}", f"/followup/cases.xlsx?region={VILLAGE}",
                 "/followup/cases.xlsx?region=621123100000", "/followup/cases.xlsx?region=621123000000",
                 f"/api/v1/stats/skills?region={VILLAGE}", f"/stats/skills?region={VILLAGE}",
                 f"/households/{world.zhang.household_id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "张三" not in response.get_data(as_text=True)
    # Their own region answers, and shows nothing of the other township.
    own = client.get(f"/followup?region={SIBLING_VILLAGE}").get_data(as_text=True)
    assert "赵六" in own and "张三" not in own


def test_a_sibling_township_official_can_change_nothing(client, login, world):
    from lms.followup.services import assign, defer

    made = assign(None, [world.zhang.id], course_id=world.potato.id, due_on=in_days(10)).created[0]
    defer(None, world.li.id, reason="illness", review_on=in_days(10))
    db.session.commit()
    before_rows, before_figures = [(a.id, a.due_on) for a in assignments()], figures(VILLAGE)
    login(client, world.sibling_official)
    refused = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(world.wang.id)],
                                                    "measure": f"course:{world.lamian.id}",
                                                    "due_on": in_days(5).isoformat()})
    assert refused.status_code == 404
    # Through their own village's form, with a member of the other township slipped in.
    slipped = client.post_form("/followup/assign", {"region": SIBLING_VILLAGE, "member": [str(world.wang.id)],
                                                    "measure": f"course:{world.lamian.id}",
                                                    "due_on": in_days(5).isoformat()}, follow_redirects=True)
    body = slipped.get_data(as_text=True)
    assert "此人不在您的辖区登记" in body and "王五" not in body
    for path in (f"/followup/members/{world.wang.id}/defer", f"/followup/members/{world.li.id}/resume",
                 f"/followup/assignments/{made.id}/cancel"):
        response = client.post_form(path, {"reason": "illness", "review_on": in_days(5).isoformat()})
        assert response.status_code == 404, path
    assert [(a.id, a.due_on) for a in assignments()] == before_rows
    assert _deferrals() == 1 and figures(VILLAGE) == before_figures


def test_anonymous_and_learners_are_kept_out(client, login, world):
    for path in (f"/followup?region={VILLAGE}", f"/followup/cases.xlsx?region={VILLAGE}"):
        assert client.get(path).status_code in (302, 401)
    login(client, world.learner)
    assert client.get(f"/followup?region={VILLAGE}").status_code == 403
    response = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(world.zhang.id)],
                                                     "measure": f"course:{world.lamian.id}",
                                                     "due_on": in_days(5).isoformat()})
    assert response.status_code == 403 and assignments() == []
