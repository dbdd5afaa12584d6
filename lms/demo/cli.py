"""``flask demo seed``: demo regions and accounts, idempotent."""
import click
from flask.cli import AppGroup

cli = AppGroup("demo", help="Demo data.")

DEMO_PASSWORD = "xiangxue-demo"
DEMO_PIN = "246813"
# (username, role, region, display name)
DEMO_STAFF = (
    ("admin", "admin", None, "管理员"),
    ("trainer", "trainer", None, "王老师"),
    ("county", "official", "621123000000", "渭源县扶贫办"),
    ("township", "official", "621123100000", "清源镇扶贫干部"),
    ("village", "official", "621123100201", "示例一村第一书记"),
)
DEMO_LEARNER_PHONE = "13800000001"

def demo_signins() -> list[tuple[str, str, str]]:
    rows = [(role, username, DEMO_PASSWORD) for username, role, _region, _name in DEMO_STAFF]
    rows.append(("learner", DEMO_LEARNER_PHONE, DEMO_PIN))
    return rows


def seed_demo() -> None:
    from importlib.resources import files

    from flask import current_app

    from lms.accounts.models import User
    from lms.accounts.services import create_user, learner_login_key
    from lms.extensions import db
    from lms.regions.services import import_regions

    import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
    for username, role, region, name in DEMO_STAFF:
        if db.session.scalar(db.select(User.id).where(User.username == username)) is None:
            create_user(username=username, role=role, password=DEMO_PASSWORD, region_code=region, display_name=name)
    if db.session.scalar(db.select(User.id).where(User.login_key == learner_login_key(DEMO_LEARNER_PHONE))) is None:
        create_user(username=DEMO_LEARNER_PHONE, role="learner", password=DEMO_PIN,
                    region_code="621123100201", display_name="李学员")
    from lms.seeds import seed_steps

    for step in seed_steps(current_app):  # each area's own (lms.seeds), in the order of create_app
        step()
    db.session.flush()


@cli.command("seed")
@click.option("--upgrade", is_flag=True,
              help="Bring the database schema up to date first (what `flask db upgrade` does).")
def seed_command(upgrade):
    """Create the demo regions and sign-ins (safe to run again)."""
    from lms.extensions import db

    if upgrade:
        # One process for both (make run): each `flask` start costs about a second.
        from flask_migrate import upgrade as upgrade_schema

        upgrade_schema()
    seed_demo()
    db.session.commit()
    click.echo("Demo sign-ins (role, username, password):")
    for role, username, password in demo_signins():
        click.echo(f"  {role:<9} {username:<12} {password}")
