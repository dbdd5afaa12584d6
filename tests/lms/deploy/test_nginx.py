"""`flask deploy nginx`: the configuration a real nginx loads, serving every static URL of every page."""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest

from lms.config import REPO_ROOT

README = REPO_ROOT / "README.md"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            # data-src, data-hls-src: the player script, which the lesson page loads and the home prefetches
            if (name in ("src", "href") or name.startswith("data-") and name.endswith("src")) and value \
                    and value.startswith("/"):
                self.urls.add(value.split("#", 1)[0])


def _static_urls(html: str, prefixes: tuple[str, ...]) -> set[str]:
    parser = _Links()
    parser.feed(html)
    return {u for u in parser.urls if u.startswith(prefixes)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nginx(app, tmp_path):
    """A real nginx on a loopback port with the generated configuration included in its http { }."""
    from lms.deploy.nginx import render

    port = _free_port()
    site = render(app, server_name="localhost", upstreams=[f"127.0.0.1:{_free_port()}"],
                  media_root=str(app.config["MEDIA_ROOT"]), secret="test-link-secret-0123456789",
                  listen=f"127.0.0.1:{port}")
    (tmp_path / "xiangxue.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(f"""{user}
worker_processes 1;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/xiangxue.conf;
}}
""")
    check = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _fetch(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def _app_bytes(client, url: str) -> bytes:
    response = client.get(url)
    try:
        assert response.status_code == 200, url
        return response.get_data()
    finally:
        response.close()


def _pages(client, login, make_user, make_course, regions) -> dict[str, str]:
    """The pages of every role, as the app renders them."""
    pages = {}
    anonymous = client.application.test_client()
    for path in ("/signin", "/signin/staff"):
        pages[path] = anonymous.get(path).get_data(as_text=True)
    trainer = make_user("trainer")
    course = make_course(trainer=trainer, lessons=(("video", 100.0), ("text", "正文")))
    people = {
        "learner": (make_user("learner"), ("/learn", f"/learn/lessons/{course.lessons[0].id}",
                                           f"/learn/lessons/{course.lessons[1].id}")),
        "trainer": (trainer, ("/teach", "/media/upload", "/media/")),
        "official": (make_user("official", region_code="621123000000"), ("/households/", "/households/import",
                                                                    "/stats/skills", "/stats/courses")),
        "admin": (make_user("admin"), ("/admin/users", "/admin/settings")),
    }
    for role, (user, paths) in people.items():
        signed_in = client.application.test_client()
        login(signed_in, user)
        for path in paths:
            response = signed_in.get(path)
            assert response.status_code == 200, (role, path, response.status_code)
            pages[f"{role} {path}"] = response.get_data(as_text=True)
    return pages


def test_every_static_url_of_every_page_is_served_by_nginx_with_the_apps_bytes(
        app, client, login, make_user, make_course, regions, nginx):
    from lms.deploy.nginx import static_folders

    prefixes = tuple(item.url for item in static_folders(app))
    pages = _pages(client, login, make_user, make_course, regions)
    used = {url: page for page, html in pages.items() for url in _static_urls(html, prefixes)}
    # The lesson page's player and progress queue, the stats and media scripts: each area's folder.
    assert {re.sub(r"\?.*", "", u).rsplit("/", 1)[0] + "/" for u in used} >= {
        "/static/", "/static/learning/", "/static/vendor/", "/media/static/", "/stats/static/"}
    anonymous = app.test_client()
    for url, page in sorted(used.items()):
        status, body, headers = _fetch(nginx + url)
        assert status == 200, f"{url} (on {page}) through nginx: {status}"
        assert body == _app_bytes(anonymous, url), url
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", url


def test_every_file_of_every_static_folder_is_served_as_the_app_serves_it(app, nginx):
    from flask import url_for

    from lms.deploy.nginx import static_folders

    anonymous = app.test_client()
    rules = {rule.rule[: -len("<path:filename>")]: rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint == "static" or rule.endpoint.endswith(".static")}
    served = 0
    for item in static_folders(app):
        for path in sorted(p for p in item.folder.rglob("*") if p.is_file()):
            relative = path.relative_to(item.folder).as_posix()
            with app.test_request_context():
                url = url_for(rules[item.url], filename=relative)
            status, body, _ = _fetch(nginx + url)
            assert (status, body) == (200, path.read_bytes()), url
            assert _app_bytes(anonymous, url) == body, url
            served += 1
    assert served >= 10
    # nginx serves nothing outside the folders it was given (the rest goes to the app, down here).
    for url in ("/static/../lms/config.py", "/static/learning/../../config.py", "/static/%2e%2e/config.py",
                "/static/learning/..%2f..%2fconfig.py"):
        status, body, _ = _fetch(nginx + url)
        assert status != 200 and b"load_environment" not in body, url


def test_upstream_block_lists_every_web_host_with_keepalive_and_forwarded_headers(app):
    from lms.deploy.nginx import render

    text = render(app, server_name="xiangxue.example", upstreams=["10.0.0.11:8000", "10.0.0.12:8000"],
                  media_root="/srv/xiangxue/media")
    upstream = re.search(r"upstream xiangxue_web \{(.*?)\}", text, re.S).group(1)
    assert "server 10.0.0.11:8000" in upstream and "server 10.0.0.12:8000" in upstream
    assert re.search(r"keepalive \d+;", upstream)
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert f"client_max_body_size {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)}m;" in text
    assert "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET" in text


@pytest.mark.parametrize("args, message", [
    (["--server-name", "a b"], "server name"),
    (["--server-name", "x.example", "--upstream", "10.0.0.1"], "upstream"),
    (["--server-name", "x.example", "--upstream", "10.0.0.1:80;evil"], "upstream"),
    (["--server-name", "x.example", "--media-root", "srv/media"], "media root"),
    (["--server-name", "x.example", "--static-root", "/srv/x; include /etc"], "static root"),
    (["--server-name", "x.example", "--secret-from-env"], "LMS_MEDIA_LINK_SECRET"),
])
def test_bad_arguments_are_refused_with_a_message_and_no_configuration(runner, monkeypatch, args, message):
    monkeypatch.delenv("LMS_MEDIA_LINK_SECRET", raising=False)
    result = runner.invoke(args=["deploy", "nginx", *args])
    assert result.exit_code == 2
    assert message in result.output and "server {" not in result.output


def test_secret_from_env_writes_the_real_secret(runner, monkeypatch):
    monkeypatch.setenv("LMS_MEDIA_LINK_SECRET", "a-real-secret-0123456789")
    result = runner.invoke(args=["deploy", "nginx", "--server-name", "x.example", "--secret-from-env",
                                 "--media-root", "/srv/media"])
    assert result.exit_code == 0, result.output
    assert "$media_rung a-real-secret-0123456789\"" in result.output
    assert "CHANGE-ME" not in result.output


def test_readme_shows_exactly_what_the_documented_command_writes(runner):
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"```sh\n(flask --app wsgi deploy nginx [^\n]*?) > xiangxue\.conf\n```\n+```nginx\n(.*?)```",
                      readme, re.S)
    assert match, "README: the `flask deploy nginx` command and its output block"
    args = shlex.split(match.group(1))[3:]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output == match.group(2)
