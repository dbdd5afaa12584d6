"""Extension objects, created unbound; ``create_app`` calls each ``init_app``."""
import click
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from lms.db import Base

db = SQLAlchemy(model_class=Base)


class LazyMigrate:
    """Flask-Migrate, imported the first time it is used (a ``flask db`` command, an upgrade):
    alembic adds ~0.3 s of CPU to every start of the app and its modules to every process, and the
    web processes never use it (make run's start-up, bench/footprint.py)."""

    def init_app(self, app, db, **options):
        app.extensions["migrate"] = _LazyMigrateConfig(app, db, options)
        app.cli.add_command(_LazyDbGroup("db", help="Perform database migrations."))


class _LazyMigrateConfig:
    """Stands in ``app.extensions["migrate"]`` until read; then the real one takes its place."""

    def __init__(self, app, db, options):
        self._app, self._db, self._options = app, db, options

    def __getattr__(self, name):
        from flask_migrate import Migrate

        Migrate().init_app(self._app, self._db, **self._options)
        return getattr(self._app.extensions["migrate"], name)


class _LazyDbGroup(click.Group):
    """``flask db``: Flask-Migrate's group, imported when the command is run (its context, and so
    its options and subcommands, are the real group's)."""

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as real

        return real.make_context(info_name, args, parent=parent, **extra)


migrate = LazyMigrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Redis away must not take pages down: the limiter falls back to memory and never raises
# (sign-in lockouts do not depend on it: lms.accounts.lockouts counts in the database).
limiter = Limiter(key_func=get_remote_address, default_limits=[], swallow_errors=True,
                  in_memory_fallback_enabled=True)
