"""The nginx configuration, written from the app itself (``flask deploy nginx``).

Every static folder the app serves is a rule in its URL map (``/static/<path:filename>`` and each
blueprint's ``url_prefix + static_url_path``), so the generator walks the map and gives nginx one
``location`` per rule with the folder behind it: a new area's scripts can never be missed behind
nginx again (the README's hand-written ``location /static/`` missed the lesson page's player). The
media locations come from ``media.nginx`` (the one text that is also benchmarked), and the request
size limit from the app's ``MAX_CONTENT_LENGTH``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from lms.config import REPO_ROOT

SECRET_PLACEHOLDER = "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET"
UPSTREAM = "xiangxue_web"
IMMUTABLE = "public, max-age=31536000, immutable"
# Written literally into the configuration: nothing that could end a directive or start a variable.
_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9_./~-]*$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9*._-]+$")
_UPSTREAM = re.compile(r"^(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+):\d{1,5}$|^unix:/[A-Za-z0-9_./-]+$")


@dataclass(frozen=True)
class StaticFolder:
    url: str       # "/static/learning/"
    folder: Path   # the folder on this machine


def static_folders(app: Flask) -> list[StaticFolder]:
    """Every static URL prefix the app routes, with its folder, longest prefix first."""
    found: dict[str, Path] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static"):
            continue
        if not rule.rule.endswith("/<path:filename>"):
            raise ValueError(f"unexpected static rule {rule.rule!r}")
        url = rule.rule[: -len("<path:filename>")]
        if rule.endpoint == "static":
            folder = app.static_folder
        else:
            folder = app.blueprints[rule.endpoint.rsplit(".", 1)[0]].static_folder
        if folder is None:
            continue
        previous = found.setdefault(url, Path(folder))
        if previous != Path(folder):
            raise ValueError(f"{url} is served from two folders: {previous} and {folder}")
    return [StaticFolder(url, found[url]) for url in sorted(found, key=lambda u: (-len(u), u))]


def _on_nginx_host(folder: Path, static_root: str | None) -> str:
    """The folder as nginx's host sees it: the code installed at ``static_root`` instead of here."""
    if static_root is None:
        return str(folder)
    return static_root.rstrip("/") + "/" + folder.resolve().relative_to(REPO_ROOT).as_posix()


def _check(value: str, pattern: re.Pattern, what: str) -> str:
    if not pattern.match(value) or "/../" in value + "/":
        raise ValueError(f"{what} must be plain (letters, digits, / . _ - ~): {value!r}")
    return value


def body_limit(app: Flask) -> str:
    """``client_max_body_size`` equal to the app's own limit, in megabytes."""
    limit = app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return "0"  # the app has none; nginx must not add one
    return f"{-(-int(limit) // (1024 * 1024))}m"


def render(app: Flask, *, server_name: str, upstreams: list[str] | tuple[str, ...] = ("127.0.0.1:8000",),
           media_root: str, secret: str = SECRET_PLACEHOLDER, static_root: str | None = None,
           listen: str = "80", keepalive: int = 32) -> str:
    """The configuration for nginx's ``http { }`` context (``include`` it, as Debian's sites-enabled do)."""
    from media.nginx import media_locations

    _check(server_name, _SERVER_NAME, "the server name")
    if not upstreams:
        raise ValueError("at least one upstream (host:port of a web host) is needed")
    for upstream in upstreams:
        _check(upstream, _UPSTREAM, "an upstream (host:port)")
    if not re.match(r"^([0-9.]+:|\[[0-9A-Fa-f:]+\]:)?\d{1,5}$", listen):
        raise ValueError(f"listen must be a port or address:port: {listen!r}")
    if static_root is not None:
        _check(static_root, _PLAIN_PATH, "the static root")
    servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    statics = []
    for item in static_folders(app):
        folder = _check(_on_nginx_host(item.folder, static_root), _PLAIN_PATH, "a static folder")
        statics.append(
            f"    location ^~ {item.url} {{\n"
            f"        alias {folder.rstrip('/')}/;\n"
            f"        add_header Cache-Control $xiangxue_static_cache;\n"
            f"    }}"
        )
    static_blocks = "\n".join(statics)
    media = media_locations(media_root, secret).rstrip("\n")
    return f"""# Written by `flask deploy nginx`: regenerate it after an upgrade rather than editing it.
upstream {UPSTREAM} {{
{servers}
    keepalive {keepalive};
}}

# Static URLs carry their content hash (?v=…): those are immutable, as the app sends them.
map $arg_v $xiangxue_static_cache {{
    ""      "public, max-age=31536000";
    default "{IMMUTABLE}";
}}

server {{
    listen {listen};
    server_name {server_name};
    client_max_body_size {body_limit(app)};     # = the app's MAX_CONTENT_LENGTH (LMS_MAX_REQUEST_MB)
    gzip on;
    gzip_vary on;
    gzip_types text/css application/javascript application/json image/svg+xml application/vnd.apple.mpegurl;

{media}
    # Every static folder of the app and its areas (url_prefix + static_url_path → folder).
{static_blocks}
    location / {{
        proxy_pass http://{UPSTREAM};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 120s;
    }}
}}
"""
