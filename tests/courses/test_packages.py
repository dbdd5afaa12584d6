import json
import zipfile

from sqlalchemy import func, select

from lms.extensions import db


def _course_with_media(make_user, make_ready_asset, regions_codes=("621123000000",)):
    from courses import services
    from courses.models import Programme, Skill

    trainer = make_user("trainer", display_name="马师傅")
    programme = db.session.scalar(select(Programme).where(Programme.code == "tongxin"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "welding"))
    course = services.save_course(trainer, None, title="电焊入门", summary="安全第一", programme_id=programme.id,
                                  skill_id=skill.id, regions=regions_codes)
    services.add_lesson(trainer, course, title="焊前准备", kind="video", asset_id=make_ready_asset(owner=trainer).id,
                        captions="WEBVTT\n\n00:00.000 --> 00:02.000\n戴好面罩\n")
    services.add_lesson(trainer, course, title="要点", kind="text", body="通风、绝缘", required=False)
    services.set_quiz(trainer, course, 0.5, [{"text": "戴什么?", "choices": ["面罩", "草帽"], "answer": [0]}])
    services.publish(trainer, course)
    db.session.commit()
    return course


def test_export_then_import_round_trip(runner, tmp_path, make_user, make_ready_asset, catalogue, regions):
    from courses.models import Course

    course = _course_with_media(make_user, make_ready_asset)
    out = tmp_path / "course.zip"
    result = runner.invoke(args=["courses", "export", str(course.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["format"] == "xiangxue-course/1" and manifest["skill"] == "welding"
        assert manifest["regions"] == ["621123000000"]
        assert zf.getinfo(manifest["lessons"][0]["media"]).file_size > 0
    result = runner.invoke(args=["courses", "import", str(out), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["title"] == "电焊入门" and printed["course"] != course.id
    db.session.expire_all()
    copy = db.session.get(Course, printed["course"])
    assert copy.published and copy.region_codes == ["621123000000"] and copy.skill.code == "welding"
    assert [(ls.title, ls.kind.value, ls.required) for ls in copy.lessons] == [
        ("焊前准备", "video", True), ("要点", "text", False)]
    video = copy.lessons[0]
    assert video.asset_id != course.lessons[0].asset_id and abs(video.duration - 4) < 0.5
    assert video.captions.startswith("WEBVTT")
    assert copy.quiz.pass_mark == 0.5 and copy.quiz.questions[0].answer == [0]


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_malformed_packages_are_rejected_whole(runner, tmp_path, catalogue):
    from courses.models import Course, Lesson
    from media.models import Asset

    bad_media = tmp_path / "bad-media.zip"
    with zipfile.ZipFile(bad_media, "w") as zf:
        zf.writestr("manifest.json", json.dumps({
            "format": "xiangxue-course/1", "title": "坏课程包", "programme": "tongxin", "skill": "焊工",
            "published": True,
            "lessons": [{"title": "文字", "kind": "text", "body": "先创建的课时"},
                        {"title": "视频", "kind": "video", "media": "media/1.mp4"}]}, ensure_ascii=False))
        zf.writestr("media/1.mp4", "this is not a video")
    result = runner.invoke(args=["courses", "import", str(bad_media), "--json"])
    assert result.exit_code == 1
    assert "第 2 课" in json.loads(result.output)["error"][0]
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(missing, "w") as zf:
        zf.writestr("manifest.json", json.dumps({
            "format": "xiangxue-course/1", "title": "x", "programme": "不存在的项目", "skill": "焊工",
            "lessons": [{"title": "视频", "kind": "video", "media": "nope.mp4"}]}, ensure_ascii=False))
    result = runner.invoke(args=["courses", "import", str(missing)])
    assert result.exit_code == 1 and "nope.mp4" in result.output
    db.session.expire_all()
    assert _count(Course) == 0 and _count(Lesson) == 0 and _count(Asset) == 0
