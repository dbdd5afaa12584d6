"""Run once in the cluster's environment: the demo regions, the tests' accounts and settings, and nginx's
configuration from ``flask deploy nginx`` (the README's command, invoked through the app's own CLI
in this process). One process instead of a ``flask`` command each saves the app's start-up each time.
Reads ``{"accounts": [...], "settings": {...}, "nginx": [args...]}`` as JSON on stdin, prints JSON."""
from __future__ import annotations

import json
import sys


def main() -> None:
    from importlib.resources import files

    from lms.accounts.services import create_user
    from lms.extensions import db
    from lms.regions.services import import_regions
    from lms.settings import set_setting
    from wsgi import app

    request = json.load(sys.stdin)
    with app.app_context():
        import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
        ids = {a["username"]: create_user(**a).id for a in request["accounts"]}
        for key, value in request["settings"].items():
            set_setting(key, value)
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["deploy", "nginx", *request["nginx"]])
    if result.exit_code != 0:
        raise SystemExit(f"flask deploy nginx failed: {result.output} {result.exception!r}")
    print(json.dumps({"ids": ids, "nginx": result.output}))


if __name__ == "__main__":
    main()
