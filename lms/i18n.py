"""Languages: Simplified Chinese by default, English; user → cookie → Accept-Language.

Dates and numbers are formatted by Babel in Asia/Shanghai (times are stored in UTC).
"""
from __future__ import annotations

from flask import has_request_context, request
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from lms.config import REPO_ROOT
from lms.extensions import babel

LOCALE_COOKIE = "lang"


def _match(value: str | None, supported) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    for code in supported:
        if value == code or value.lower() == code.lower():
            return code
    # zh, zh_CN, zh_Hans → zh_Hans_CN; en_US → en
    base = value.split("_")[0].lower()
    for code in supported:
        if code.split("_")[0].lower() == base:
            return code
    return None


def select_locale():
    from flask import current_app

    supported = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = getattr(current_user, "locale", None) if current_user and current_user.is_authenticated else None
    chosen = _match(user_locale, supported) or _match(request.cookies.get(LOCALE_COOKIE), supported)
    if chosen:
        return chosen
    # Browsers send zh-CN; Werkzeug's best_match needs exact tags, so match by hand.
    for tag, _quality in request.accept_languages:
        chosen = _match(tag, supported)
        if chosen:
            return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang() -> str:
    """The BCP 47 tag for ``<html lang>``: zh-Hans-CN or en."""
    return str(get_locale()).replace("_", "-")


def init_app(app) -> None:
    domains = app.config["CATALOG_DOMAINS"]
    directory = str(REPO_ROOT / "lms" / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join([directory] * len(domains))
    app.config["BABEL_DOMAIN"] = ";".join(domains)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(html_lang=html_lang)
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt) if value else ""
    app.jinja_env.filters["number"] = lambda value: format_decimal(value) if value is not None else ""
