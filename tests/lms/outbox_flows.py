"""What a trainer does through HTTP, for the outbox tests (not a test module)."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from lms.extensions import db


def upload(client, path, title="修剪果树") -> dict:
    """The uploader's protocol: create, then checksummed chunks; returns the last answer."""
    with open(path, "rb") as fh:
        data = fh.read()
    created = client.post_json("/media/api/uploads", {"title": title, "filename": "lesson.mp4", "size": len(data)})
    assert created.status_code == 201
    token, half = client.csrf_token(), len(data) // 2
    answer = None
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        answer = client.put(created.json["url"], data=chunk, headers={
            "Upload-Offset": str(offset), "Content-Type": "application/octet-stream",
            "Chunk-SHA256": hashlib.sha256(chunk).hexdigest(), "X-CSRFToken": token})
    return answer


def make_text_course(trainer, title="电焊入门"):
    """An unpublished course with one text lesson (publishing needs no media)."""
    from courses import services
    from courses.models import Programme, Skill

    services.seed_catalogue()
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    course = services.save_course(trainer, None, title=title, summary="安全第一", programme_id=programme.id,
                                  skill_id=skill.id, regions=())
    services.add_lesson(trainer, course, title="安全须知", kind="text", body="戴好面罩")
    db.session.commit()
    return course
