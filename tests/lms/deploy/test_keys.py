"""Keys every host shares: refused start without them, `flask keys generate`, rotation of the secret key."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from lms import create_app, queue
from lms.config import REPO_ROOT, MissingKeys, keys_command_running

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(LMS_INSTANCE_PATH=str(tmp_path / "instance"), **extra)
    return env


@pytest.mark.parametrize("setting", [
    {"LMS_DATABASE_URL": "postgresql+psycopg://xiangxue@127.0.0.1:1/xiangxue"},
    {"LMS_QUEUE_URL": "redis://127.0.0.1:1/0"},
])
def test_past_one_machine_the_app_refuses_to_start_without_the_shared_keys(tmp_path, monkeypatch, setting):
    for key in list(os.environ):
        if key.startswith("LMS_") and key != "LMS_INSTANCE_PATH":
            monkeypatch.delenv(key)
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    for key, value in setting.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LMS_DATA_KEY", "shared-data-key")
    with pytest.raises(MissingKeys) as refused:
        create_app()
    message = str(refused.value)
    assert "LMS_SECRET_KEY, LMS_MEDIA_LINK_SECRET" in message and "LMS_DATA_KEY" not in message.split("\n")[0]
    assert "flask --app wsgi keys generate" in message
    assert not (tmp_path / "secret_key").exists()  # nothing generated on this host


def test_on_one_machine_keys_are_still_generated_into_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    for key in ("LMS_SECRET_KEY", "LMS_DATA_KEY", "LMS_MEDIA_LINK_SECRET", "LMS_DATABASE_URL", "LMS_QUEUE_URL"):
        monkeypatch.delenv(key, raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()


def test_keys_generate_works_without_keys_and_the_keys_it_prints_start_the_app(tmp_path):
    production = {"LMS_DATABASE_URL": "postgresql+psycopg://xiangxue@127.0.0.1:1/xiangxue"}
    refused = subprocess.run([*FLASK, "routes"], cwd=REPO_ROOT, env=_env(tmp_path, **production),
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "flask --app wsgi keys generate" in refused.stderr
    generated = subprocess.run([*FLASK, "keys", "generate"], cwd=REPO_ROOT, env=_env(tmp_path, **production),
                               capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    lines = generated.stdout.splitlines()
    keys = dict(re.fullmatch(r"export (LMS_[A-Z_]+)=([A-Za-z0-9_-]{64})", line).groups() for line in lines)
    assert set(keys) == {"LMS_SECRET_KEY", "LMS_DATA_KEY", "LMS_MEDIA_LINK_SECRET"}
    assert len(set(keys.values())) == 3
    started = subprocess.run([*FLASK, "routes"], cwd=REPO_ROOT, env=_env(tmp_path, **production, **keys),
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize("argv, expected", [
    (["/usr/bin/flask", "--app", "wsgi", "keys", "generate"], True),
    (["/x/flask/__main__.py", "--app=wsgi", "keys", "generate"], True),
    (["/usr/bin/flask", "--app", "keys", "routes"], False),
    (["/usr/bin/flask", "--app", "wsgi", "worker"], False),
    (["gunicorn", "keys"], False),
])
def test_only_the_keys_command_runs_without_keys(argv, expected):
    assert keys_command_running(argv) is expected


def _host(app, **keys):
    """Another web host on the same database, with its own keys."""
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "DATA_KEY", "MEDIA_ROOT", "SEARCH_INDEX",
                                         "RATELIMIT_STORAGE_URI", "SERVER_NAME")}
    config.update(TESTING=True, QUEUE_IMMEDIATE=True, **keys)
    host = create_app(config)
    host.test_client_class = type(app.test_client())
    return host


def test_after_rotating_the_secret_key_signed_in_people_and_open_forms_still_work(app, make_user, login):
    trainer = make_user("trainer")
    old = app.test_client()
    login(old, trainer)
    token = old.csrf_token()
    cookie = old.get_cookie("session").value

    def visit(host):
        client = host.test_client()
        client.set_cookie("session", cookie, domain="localhost")
        home = client.get("/")
        switched = client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/teach"})
        return home, switched

    rotated = _host(app, SECRET_KEY="new-secret-key", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]],
                    WTF_CSRF_SECRET_KEY=[app.config["SECRET_KEY"], "new-secret-key"])
    home, switched = visit(rotated)
    assert home.status_code == 302 and home.headers["Location"].endswith("/teach")  # still signed in
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/teach")
    forgotten = _host(app, SECRET_KEY="new-secret-key")
    home, switched = visit(forgotten)
    assert "/signin" in home.headers["Location"]  # the old cookie means nothing to it
    assert switched.status_code == 400  # nor the old form
    queue.init_app(app)


def test_after_rotating_the_media_link_secret_links_handed_out_still_play_until_they_expire(
        app, make_user, login, make_ready_asset):
    from media.queries import playback

    owner = make_user("trainer")
    learner = app.test_client()  # the owner here: a signed-in user who may play the asset
    login(learner, owner)
    asset = make_ready_asset(owner=owner)
    playlist = learner.get(playback(asset.id)["variants"][0]["url"]).get_data(as_text=True)
    link = next(line for line in playlist.splitlines() if line.startswith("/media/s/"))
    old_secret = app.extensions["media_link_secret"]
    rotated = _host(app, MEDIA_LINK_SECRET="new-link-secret-0123456789", MEDIA_LINK_SECRET_FALLBACKS=[old_secret])
    forgotten = _host(app, MEDIA_LINK_SECRET="new-link-secret-0123456789")
    queue.init_app(app)
    with rotated.test_client().get(link) as response:
        assert response.status_code == 200 and len(response.data) > 0
    with forgotten.test_client().get(link) as response:
        assert response.status_code == 403


def test_the_old_keys_come_from_the_environment_as_comma_lists(tmp_path):
    from lms.config import load_keys

    config = {"INSTANCE_PATH": tmp_path, "SECRET_KEY_FALLBACKS": None}
    load_keys(config, {"LMS_SECRET_KEY": "new", "LMS_SECRET_KEY_OLD": "old-1, old-2",
                       "LMS_DATA_KEY": "data", "LMS_DATA_KEY_OLD": "data-old",
                       "LMS_MEDIA_LINK_SECRET_OLD": "link-old-0123456789"})
    assert config["SECRET_KEY_FALLBACKS"] == ["old-1", "old-2"]
    assert config["WTF_CSRF_SECRET_KEY"] == ["old-1", "old-2", "new"]  # itsdangerous signs with the last
    assert config["DATA_KEY_FALLBACKS"] == ["data-old"]
    assert config["MEDIA_LINK_SECRET_FALLBACKS"] == ["link-old-0123456789"]
