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
    CATALOG_DOMAINS = ("lms", "households", "media", "courses", "learning", "stats", "search", "followup", "subsidies")
    RATELIMIT_HEADERS_ENABLED = True
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)
    TESTING = False


def load_environment(config: dict) -> None:
    """Fill the LMS_* settings from the environment, with the embedded defaults of DESIGN.md."""
    env = os.environ
    instance = Path(env.get("LMS_INSTANCE_PATH", config["INSTANCE_PATH"]))
    config["INSTANCE_PATH"] = instance
    config.setdefault("SQLALCHEMY_DATABASE_URI", env.get("LMS_DATABASE_URL") or f"sqlite:///{instance / 'lms.db'}")
    if not str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # After a database restart every pooled connection is dead: test each one as it is taken
        # from the pool (one round trip) so no request meets a stale one; and give up connecting
        # after 5 s, so a database that is away answers 503 quickly instead of hanging workers.
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    config.setdefault("MEDIA_ROOT", Path(env.get("LMS_MEDIA_ROOT") or instance / "media"))
    config.setdefault("SEARCH_INDEX", Path(env.get("LMS_SEARCH_INDEX") or instance / "search-index"))
    # Files uploaded for an import that the worker runs (and their progress files): the worker
    # may be another machine, so past one machine this is shared storage like the media.
    config.setdefault("IMPORT_ROOT", Path(env.get("LMS_IMPORT_ROOT") or instance / "uploads"))
    config.setdefault("FFMPEG", env.get("LMS_FFMPEG", "ffmpeg"))
    config.setdefault("FFPROBE", env.get("LMS_FFPROBE", "ffprobe"))
    config.setdefault("MEDIA_ACCEL", env.get("LMS_MEDIA_ACCEL") or None)
    # The largest request body the app accepts (a household export is the biggest); nginx's
    # client_max_body_size is written from it by `flask deploy nginx`.
    if config.get("MAX_CONTENT_LENGTH") is None:
        config["MAX_CONTENT_LENGTH"] = int(env.get("LMS_MAX_REQUEST_MB") or 512) * 1024 * 1024
    config.setdefault("RATELIMIT_STORAGE_URI", env.get("LMS_RATELIMIT_URL", "memory://"))
    config.setdefault("TRUSTED_PROXIES", int(env.get("LMS_TRUSTED_PROXIES") or 0))  # lms.security
    https = env.get("LMS_HTTPS") == "1"
    config.setdefault("SESSION_COOKIE_SECURE", https)
    config.setdefault("REMEMBER_COOKIE_SECURE", https)
    load_keys(config, env, instance)


# The keys every host must share once the app runs on more than one machine.
KEYS = {"SECRET_KEY": "LMS_SECRET_KEY", "DATA_KEY": "LMS_DATA_KEY", "MEDIA_LINK_SECRET": "LMS_MEDIA_LINK_SECRET"}


class MissingKeys(RuntimeError):
    """The app is configured for several hosts and the shared keys are not in the environment."""


def shared_deployment(env) -> bool:
    """Past the embedded default: a database other than SQLite, or the Redis queue. Then web hosts
    and workers run on several machines, and a key generated into one machine's ``instance/``
    would differ from the others' (a form signed by one host refused by the next)."""
    database = env.get("LMS_DATABASE_URL") or ""
    queue = env.get("LMS_QUEUE_URL") or ""
    return bool(database) and not database.startswith("sqlite") or queue.startswith(("redis://", "rediss://"))


def missing_keys_message(names: list[str]) -> str:
    return (f"Xiangxue will not start: {', '.join(names)} must be set in the environment.\n"
            "LMS_DATABASE_URL is not SQLite (or LMS_QUEUE_URL is Redis), so this app runs on several "
            "machines, and every web host and worker must share the same keys: a secret key made up "
            "by one host refuses the sign-in forms of another, and ID numbers encrypted under one "
            "data key cannot be read or found under another.\n"
            "Generate the keys once with\n    flask --app wsgi keys generate\n"
            "and put the three lines it prints into the environment of every web and worker host "
            "(keep a copy of LMS_DATA_KEY: without it stored ID numbers cannot be read).")


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def load_keys(config: dict, env=os.environ, instance: Path | None = None) -> None:
    """The keys from the caller's config or the environment; on one machine, generated once into
    ``instance/``; past one machine, required (``MissingKeys`` otherwise).

    ``LMS_SECRET_KEY_OLD``, ``LMS_DATA_KEY_OLD`` and ``LMS_MEDIA_LINK_SECRET_OLD`` (comma lists) are
    keys being rotated out: still accepted for reading (sessions and CSRF tokens, ID numbers and
    their look-up hashes, media links) while everything is written under the new key.
    """
    for name, variable in KEYS.items():
        if not config.get(name) and env.get(variable):
            config[name] = env[variable]
    missing = [variable for name, variable in KEYS.items() if not config.get(name)]
    if missing and shared_deployment(env):
        if not keys_command_running():
            raise MissingKeys(missing_keys_message(missing))
        for name in ("SECRET_KEY", "DATA_KEY"):  # never used: `flask keys` reads no data
            config[name] = config.get(name) or secrets.token_urlsafe(48)
    instance = instance or Path(config["INSTANCE_PATH"])
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create_secret(instance, "secret_key")
    if not config.get("DATA_KEY"):
        config["DATA_KEY"] = _read_or_create_secret(instance, "data_key")
    config.setdefault("MEDIA_LINK_SECRET", None)  # media.links derives one from SECRET_KEY
    config.setdefault("SECRET_KEY_FALLBACKS", [])
    config["SECRET_KEY_FALLBACKS"] = config["SECRET_KEY_FALLBACKS"] or _list(env.get("LMS_SECRET_KEY_OLD"))
    config.setdefault("DATA_KEY_FALLBACKS", _list(env.get("LMS_DATA_KEY_OLD")))
    config.setdefault("MEDIA_LINK_SECRET_FALLBACKS", _list(env.get("LMS_MEDIA_LINK_SECRET_OLD")))
    # Flask-WTF signs CSRF tokens with one key; itsdangerous takes a list (newest last) and
    # verifies against each, so forms opened before a rotation still submit.
    config["WTF_CSRF_SECRET_KEY"] = [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def keys_command_running(argv: list[str] | None = None) -> bool:
    """``flask … keys …``: generating the keys must work before there are any."""
    import sys

    argv = sys.argv if argv is None else argv
    if not argv or not (Path(argv[0]).name == "flask" or argv[0].endswith("flask/__main__.py")):
        return False
    args = iter(argv[1:])
    for arg in args:
        if arg in ("--app", "-A", "--env-file", "-e"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg == "keys"
    return False
