"""The skill goal's settings (admins change them on the settings page)."""
from flask_babel import lazy_gettext as _l

from lms.settings import register_default

register_default("stats.goal_unit", "laborer",
                 _l("Skill goal unit: “laborer” (every laborer) or “household” (at least one laborer per household)"))
register_default("stats.goal_threshold", 1, _l("Skill goal threshold: 1 or 2 distinct skills"))
