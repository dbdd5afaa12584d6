"""``flask stats ...``: skill-goal figures, roll-up verification and rebuild."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("stats", help="Skill-goal statistics.")


@cli.command("skills")
@click.option("--region", "code", required=True, help="12-digit region code.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET /api/v1/stats/skills.")
def skills_command(code, as_json):
    """Figures of a region and its child regions (from the roll-ups)."""
    from lms.extensions import db
    from lms.regions.models import Region
    from lms.stats.queries import api_payload

    region = db.session.get(Region, code)
    if region is None:
        click.echo(f"unknown region {code}", err=True)
        sys.exit(2)
    payload = api_payload(region)
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    for row in [payload] + payload["children"]:
        click.echo(f"{row['region']} {row['name']}: laborers={row['laborers']} with_1={row['with_1']} "
                   f"with_2={row['with_2']} coverage_1={row['coverage_1']:.1%} coverage_2={row['coverage_2']:.1%} "
                   f"households_without_skill={row['households_without_skill']}")


@cli.command("verify")
@click.option("--region", "code", default="", help="Only this region and below.")
def verify_command(code):
    """Recount from scratch and report any difference with the roll-ups (exit code 1 when any)."""
    from lms.extensions import db
    from lms.regions.models import Region
    from lms.stats.rollups import verify

    prefix = ""
    if code:
        region = db.session.get(Region, code)
        if region is None:
            click.echo(f"unknown region {code}", err=True)
            sys.exit(2)
        prefix = region.prefix
    problems = verify(prefix)
    for p in problems[:100]:
        click.echo(f"{p['region']} {p['figure']}: stored={p['stored']} recount={p['recount']}")
    click.echo(f"differences={len(problems)}")
    sys.exit(1 if problems else 0)


@cli.command("rebuild")
def rebuild_command():
    """Replace every roll-up with a recount (after restoring a backup, or a bulk load)."""
    from lms.extensions import db
    from lms.stats.rollups import rebuild

    regions = rebuild()
    db.session.commit()
    click.echo(f"regions={regions}")


@cli.command("refresh")
def refresh_command():
    """Recount the villages marked by imports now (the job does it every minute)."""
    from lms.extensions import db
    from lms.stats.rollups import refresh_dirty

    count = refresh_dirty()
    db.session.commit()
    click.echo(f"villages={count}")


def seed_rollups() -> None:
    """Demo data: when the registry is empty, a small synthetic one in 渭源县 (the registry's synth,
    through its import) with skills for about half of its laborers; then roll-ups that match."""
    import datetime as dt
    import random
    import tempfile
    from pathlib import Path

    from lms.extensions import db
    from lms.households.models import Household, Member
    from lms.households.queries import laborers
    from lms.stats.rollups import rebuild

    if db.session.scalar(db.select(Household.id).limit(1)) is None:
        from courses.models import Skill
        from lms.households.importing.run import import_households
        from lms.households.synth import write
        from lms.regions.services import import_regions
        from lms.skills.models import Evidence, Source
        from lms.skills.services import award_skill

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo-registry.csv"
            write(str(out), 120, seed=11, counties=("621123",))
            from lms.regions.models import Region

            # Only the synth's new villages: the demo's own region names stay as they are.
            known = set(db.session.scalars(db.select(Region.code)))
            lines = (Path(tmp) / "demo-registry-regions.csv").read_text(encoding="utf-8").splitlines()
            import_regions("\n".join([lines[0]] + [line for line in lines[1:] if line.split(",")[0] not in known]))
            import_households(out, create_regions=True)
        skills = list(db.session.scalars(db.select(Skill.id).order_by(Skill.id)))
        rng = random.Random(11)
        if skills:
            for member in db.session.scalars(laborers().order_by(Member.id)):
                for _ in range(rng.choice((0, 0, 1, 1, 2))):
                    award_skill(skill_id=rng.choice(skills), evidence=Evidence.training_certificate,
                                source=Source.certificate_import, member=member, refresh=False,
                                awarded_on=dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(600)))
    rebuild()
