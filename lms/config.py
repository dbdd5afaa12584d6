"""Configuration: classes with embedded defaults, overridden by LMS_* environment variables.

Config is read once in ``create_app`` and never changed at run time. Settings an admin changes
(completion threshold, skill goal, laborer age range, idle sign-out) live in the settings table.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _read_or_create_secret(instance: Path, name: str) -> str:
    """A key generated once into ``instance/`` (mode 600) so restarts keep sessions and data readable."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


class Config:
    INSTANCE_PATH = Path(os.environ.get("LMS_INSTANCE_PATH", REPO_ROOT / "instance"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # a page left open on a shared terminal must still submit
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_Hans_CN", "en")
    # One catalog domain per area keeps ownership clear; all live in lms/translations.
    CATALOG_DOMAINS = ("lms", "households", "media", "courses", "learning", "stats", "search")
    RATELIMIT_HEADERS_ENABLED = True
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)
    TESTING = False


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = True


def load_environment(config: dict) -> None:
    """Fill the LMS_* settings from the environment, with the embedded defaults of DESIGN.md."""
    env = os.environ
    instance = Path(env.get("LMS_INSTANCE_PATH", config["INSTANCE_PATH"]))
    config["INSTANCE_PATH"] = instance
    config.setdefault("SQLALCHEMY_DATABASE_URI", env.get("LMS_DATABASE_URL") or f"sqlite:///{instance / 'lms.db'}")
    config.setdefault("MEDIA_ROOT", Path(env.get("LMS_MEDIA_ROOT") or instance / "media"))
    config.setdefault("QUEUE_URL", env.get("LMS_QUEUE_URL") or f"sqlite:///{instance / 'queue.db'}")
    config.setdefault("SEARCH_INDEX", Path(env.get("LMS_SEARCH_INDEX") or instance / "search-index"))
    config.setdefault("FFMPEG", env.get("LMS_FFMPEG", "ffmpeg"))
    config.setdefault("FFPROBE", env.get("LMS_FFPROBE", "ffprobe"))
    config.setdefault("MEDIA_ACCEL", env.get("LMS_MEDIA_ACCEL") or None)
    config.setdefault("MEDIA_LINK_SECRET", env.get("LMS_MEDIA_LINK_SECRET") or None)
    # The largest request body the app accepts (a household export is the biggest); nginx's
    # client_max_body_size is written from it by `flask deploy nginx`.
    if config.get("MAX_CONTENT_LENGTH") is None:
        config["MAX_CONTENT_LENGTH"] = int(env.get("LMS_MAX_REQUEST_MB") or 512) * 1024 * 1024
    config.setdefault("RATELIMIT_STORAGE_URI", env.get("LMS_RATELIMIT_URL", "memory://"))
    config.setdefault("TRUSTED_PROXIES", int(env.get("LMS_TRUSTED_PROXIES") or 0))  # lms.security
    https = env.get("LMS_HTTPS") == "1"
    config.setdefault("SESSION_COOKIE_SECURE", https)
    config.setdefault("REMEMBER_COOKIE_SECURE", https)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = env.get("LMS_SECRET_KEY") or _read_or_create_secret(instance, "secret_key")
    if not config.get("DATA_KEY"):
        config["DATA_KEY"] = env.get("LMS_DATA_KEY") or _read_or_create_secret(instance, "data_key")
