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
