"""Run once in the cluster's environment: the demo regions, the tests' accounts, and where the app's
static folders are (for nginx). One process instead of a ``flask`` command per account saves the
app's start-up each time. Reads the accounts as JSON on stdin, prints JSON."""
from __future__ import annotations

import json
import sys


def main() -> None:
    from importlib.resources import files

    from lms.accounts.services import create_user
    from lms.extensions import db
    from lms.regions.services import import_regions
    from wsgi import app

    accounts = json.load(sys.stdin)
    with app.app_context():
        import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
        ids = {a["username"]: create_user(**a).id for a in accounts}
        db.session.commit()
    folders = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            owner = app if rule.endpoint == "static" else app.blueprints[rule.endpoint.rsplit(".", 1)[0]]
            folders.append([rule.rule.split("<")[0], owner.static_folder])
    print(json.dumps({"ids": ids, "static": folders}))


if __name__ == "__main__":
    main()
