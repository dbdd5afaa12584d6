"""The wiring: one door per area (``init_app``), called by ``create_app`` in layer order; nothing
registers at import time; no in-repo import is guarded, so a missing piece stops the start."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lms import create_app
from lms.config import REPO_ROOT

AREAS = ("lms/accounts", "lms/admin", "lms/audit", "lms/demo", "lms/deploy", "lms/followup", "lms/households",
         "lms/learning",
         "lms/main", "lms/regions", "lms/settings", "lms/skills", "lms/stats", "lms/subsidies", "lms/worker", "courses", "media",
         "search")


def _config(tmp_path):
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}", "SECRET_KEY": "s", "DATA_KEY": "d"}


def test_every_area_brings_its_blueprint_and_cli_group_through_its_door(app):
    # learning brings two: its own (progress API, certificates, terminals) and the learner's pages.
    assert list(app.blueprints) == ["regions", "accounts", "households", "media", "courses", "search", "learning",
                                    "learner", "skills", "stats", "followup", "subsidies", "main", "admin", "deploy"]
    assert sorted(app.cli.list_commands(None)) == ["courses", "db", "demo", "deploy", "followup", "households", "keys",
                                                   "media", "regions", "search", "skills", "stats", "subsidies",
                                                   "users", "worker"]


def test_each_area_package_has_a_door():
    for area in AREAS:
        tree = ast.parse((REPO_ROOT / area / "__init__.py").read_text(encoding="utf-8"))
        assert "init_app" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, area


def test_a_door_that_fails_stops_the_start_with_its_own_error(tmp_path, monkeypatch):
    import lms.skills

    def broken(app):
        raise RuntimeError("skills could not start")

    monkeypatch.setattr(lms.skills, "init_app", broken)
    with pytest.raises(RuntimeError, match="skills could not start"):
        create_app(_config(tmp_path))


PROBE = """
import importlib, pathlib, pkgutil, sys
for top in ("lms", "courses", "media", "search"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
from lms.ui import NAV, SIGNIN_LINKS
from lms.settings import DEFAULTS
from lms.sessions import PASSIVE_ENDPOINTS
from media.access import VIEWER_CHECKS
from media.services import IN_USE_CHECKERS
from courses.signals import course_published, course_unpublished
from lms.households.signals import registry_changed, registry_changing
from lms.learning.signals import course_completed
from lms.skills.signals import awards_changed, awards_changing
signals = (course_published, course_unpublished, registry_changed, registry_changing, course_completed, awards_changed,
           awards_changing)
print(len(NAV), len(SIGNIN_LINKS), len(DEFAULTS), sorted(PASSIVE_ENDPOINTS), len(VIEWER_CHECKS),
      len(IN_USE_CHECKERS), sum(len(s.receivers) for s in signals))
"""


def test_importing_every_module_registers_nothing(tmp_path):
    """Only the doors register: a module that registers a nav entry, a setting, a receiver or a
    checker when imported would make the app depend on which modules happened to be imported."""
    env = {"PATH": "/usr/bin:/bin", "LMS_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == "0 0 0 ['main.session_status', 'static'] 0 0 0"


def _guards(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours = ("lms", "courses", "media", "search", ".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                handler.type is not None and "ImportError" in ast.unparse(handler.type) for handler in node.handlers):
            imports = [n for n in node.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            names = [ast.unparse(n) for n in imports]
            if any(f" {top}" in name or name.startswith(f"from {top}") for name in names for top in ours):
                yield f"{path.relative_to(REPO_ROOT)}:{node.lineno}"


def test_no_import_of_our_own_modules_is_guarded():
    """A rename must fail at start, not silently switch a feature off."""
    found = [hit for top in ("lms", "courses", "media", "search") for path in sorted((REPO_ROOT / top).rglob("*.py"))
             for hit in _guards(path)]
    assert found == []
