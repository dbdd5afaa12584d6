"""Template helpers shared by every area: versioned static URLs, navigation, sign-in links."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string
    roles: tuple[str, ...]
    order: int = 50


NAV: list[NavItem] = []
SIGNIN_LINKS: list[NavItem] = []


def register_nav(endpoint: str, label, roles: tuple[str, ...], order: int = 50) -> None:
    if all(item.endpoint != endpoint for item in NAV):
        NAV.append(NavItem(endpoint, label, roles, order))


def register_signin_link(endpoint: str, label, order: int = 50) -> None:
    if all(item.endpoint != endpoint for item in SIGNIN_LINKS):
        SIGNIN_LINKS.append(NavItem(endpoint, label, (), order))


def _links(items, role: str | None):
    views = current_app.view_functions
    shown = [i for i in sorted(items, key=lambda i: i.order)
             if i.endpoint in views and (not i.roles or (role and role in i.roles))]
    return [{"url": url_for(i.endpoint), "label": i.label, "active": request.endpoint == i.endpoint} for i in shown]


def nav_items():
    role = current_user.role.value if current_user.is_authenticated else None
    return _links(NAV, role) if role else []


def signin_links():
    return _links(SIGNIN_LINKS, None)


_VERSIONS: dict[tuple[str, str], str] = {}


def static_url(filename: str, endpoint: str = "static") -> str:
    """A URL carrying the file's content hash, so it can be cached for a year as immutable."""
    folder = current_app.static_folder if endpoint == "static" else current_app.blueprints[
        endpoint.rsplit(".", 1)[0]].static_folder
    key = (endpoint, filename)
    version = _VERSIONS.get(key)
    if version is None or current_app.debug:
        path = Path(folder) / filename
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "0"
        _VERSIONS[key] = version
    return url_for(endpoint, filename=filename, v=version)


def init_app(app) -> None:
    app.jinja_env.globals.update(static_url=static_url, nav_items=nav_items, signin_links=signin_links)

    @app.after_request
    def immutable_static(response):
        if request.endpoint and request.endpoint.endswith("static") and request.args.get("v") \
                and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
