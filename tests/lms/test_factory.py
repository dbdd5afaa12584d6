import os
import stat

from lms import create_app


def test_keys_are_generated_once_into_instance_with_mode_600(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("LMS_DATA_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["DATA_KEY"] == second.config["DATA_KEY"] != first.config["SECRET_KEY"]
    for name in ("secret_key", "data_key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600


def test_environment_overrides_the_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LMS_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("LMS_MEDIA_ROOT", str(tmp_path / "m"))
    monkeypatch.setenv("LMS_SECRET_KEY", "from-env")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")
    assert str(app.config["MEDIA_ROOT"]).endswith("/m")
    assert app.config["SECRET_KEY"] == "from-env"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    # Its own SQLite app, so the test means the same on the PostgreSQL pass of the suite.
    from lms.extensions import db

    embedded = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.db'}", "SECRET_KEY": "s",
                           "DATA_KEY": "d"})
    with embedded.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
