"""``flask courses``: seed the catalogue, export and import course packages."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("courses", help="Programmes, skills and course packages.")


@cli.command("seed")
def seed_command():
    """Add the seed programmes and skill catalogue (idempotent)."""
    from courses.services import seed_catalogue
    from lms.extensions import db

    programmes, skills = seed_catalogue()
    db.session.commit()
    click.echo(f"programmes added: {programmes}, skills added: {skills}")


@cli.command("export")
@click.argument("course_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
def export_command(course_id, out):
    """Write COURSE_ID as a package (manifest.json + media) to --out FILE.zip."""
    from courses.packages import export_course
    from courses.package import PackageError

    try:
        export_course(course_id, out)
    except PackageError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    click.echo(out)


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print {\"course\": ID, \"title\": …}.")
def import_command(path, as_json):
    """Load a course package; media is transcoded through the normal pipeline. A bad package is
    rejected whole: nothing is created."""
    from courses.package import PackageError
    from courses.packages import import_course
    from lms.extensions import db

    try:
        course = import_course(path)
        db.session.commit()
    except PackageError as exc:
        db.session.rollback()
        if as_json:
            click.echo(json.dumps({"error": [str(p) for p in exc.problems]}, ensure_ascii=False))
        else:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"course": course.id, "title": course.title}, ensure_ascii=False))
    else:
        click.echo(f"course {course.id}: {course.title}")


DEMO_COURSE = "牛肉拉面入门"


def seed_demo_course() -> None:
    """Demo data: one published course with a generated 20 s video lesson, a text lesson and a quiz."""
    import subprocess
    import tempfile
    from pathlib import Path

    from sqlalchemy import select

    from courses import services
    from courses.models import Course, Programme, Skill
    from lms.accounts.models import User
    from lms.extensions import db

    services.seed_catalogue()
    if db.session.scalar(select(Course.id).where(Course.title == DEMO_COURSE)) is not None:
        return
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    course = services.save_course(trainer, None, title=DEMO_COURSE, summary="和面、醒面、拉面：跟着老师一步一步做。",
                                  programme_id=programme.id, skill_id=skill.id)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "demo.mp4"
        try:
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                            "testsrc2=size=640x360:rate=25:duration=8", "-f", "lavfi", "-i",
                            "sine=frequency=300:duration=8", "-c:v", "libx264", "-preset", "veryfast",
                            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)],
                           check=True, timeout=120)
            from media.services import ingest_file

            asset = ingest_file(str(clip), "和面（演示）", owner=trainer, wait=True)
            if asset.status.value == "ready":
                services.add_lesson(trainer, course, title="和面", kind="video", asset_id=asset.id)
        except (OSError, subprocess.SubprocessError) as exc:
            click.echo(f"demo video skipped: {exc}", err=True)
    services.add_lesson(trainer, course, title="要点", kind="text",
                        body="面粉与水的比例约为二比一。\n水要分三次加入，每次揉匀再加。\n醒面二十分钟。")
    services.set_quiz(trainer, course, 1.0, [
        {"text": "和面时水分几次加入？", "choices": ["一次", "三次"], "answer": [1]}])
    services.publish(trainer, course)
