"""Settings an admin changes at run time, stored in the ``settings`` table.

Each area registers its defaults (``register_default``) in its ``init_app``; ``get_setting`` returns
the stored value or the default. Values are JSON so numbers and lists keep their types.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import db


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


@dataclass(frozen=True)
class SettingDefault:
    key: str
    value: Any
    description: Any  # a lazy string, shown on the admin page
    kind: type


DEFAULTS: dict[str, SettingDefault] = {}


def register_default(key: str, value: Any, description, kind: type | None = None) -> None:
    DEFAULTS[key] = SettingDefault(key, value, description, kind or type(value))


# Every request reads some settings (the idle sign-out on each heartbeat); a few seconds' cache per
# process spares the database, and an admin's change reaches every process within that time.
CACHE_SECONDS = 5.0
_cache: dict[str, tuple[Any, float]] = {}


def clear_cache() -> None:
    _cache.clear()


def get_setting(key: str) -> Any:
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    row = db.session.get(Setting, key)
    value = row.value if row is not None else DEFAULTS[key].value
    _cache[key] = (value, now + CACHE_SECONDS)
    return value


def set_setting(key: str, value: Any) -> None:
    """Store a value (caller audits and commits). Unknown keys are refused."""
    default = DEFAULTS[key]
    value = default.kind(value)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    _cache.pop(key, None)


def init_app(app) -> None:
    # A new app may sit on another database (tests build several): nothing cached for an earlier one.
    clear_cache()
