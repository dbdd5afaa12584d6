"""Extension objects, created unbound; ``create_app`` calls each ``init_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from lms.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Redis away must not take pages down: the limiter falls back to memory and never raises
# (sign-in lockouts do not depend on it: lms.accounts.lockouts counts in the database).
limiter = Limiter(key_func=get_remote_address, default_limits=[], swallow_errors=True,
                  in_memory_fallback_enabled=True)
