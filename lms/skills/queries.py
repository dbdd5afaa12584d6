"""Reads of the skills area: what a learner holds, for the learner home page."""
from __future__ import annotations

from sqlalchemy import or_, select

from courses.models import Skill
from lms.extensions import db
from lms.skills.models import SkillAward


def my_skills(user) -> list:
    """Skills the learner holds (course completions, trainer sign-offs, imported certificates):
    the skills area's awards, distinct per skill."""
    who = [SkillAward.user_id == user.id]
    if getattr(user, "member_id", None):
        who.append(SkillAward.member_id == user.member_id)
    return list(db.session.scalars(select(Skill).where(Skill.id.in_(
        select(SkillAward.skill_id).where(or_(*who), SkillAward.revoked_at.is_(None)))).order_by(Skill.position)))
