"""The e2e suite's fixtures: the test app served over real HTTP, and a fresh chromium profile."""
import socket
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from lms.extensions import db


# A loaded 2-core CI machine hashes and sends chunks slowly: assertions on page text wait up to
# 30 s (Playwright's 5 s default made the uploader test fail under load, not because it was wrong).
expect.set_options(timeout=30_000)


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture
def live_server(app):
    """The same database and media folder as the test app, served over real HTTP."""
    from lms import create_app

    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "DATA_KEY", "MEDIA_ROOT",
                                         "SEARCH_INDEX", "RATELIMIT_STORAGE_URI")}
    config.update(TESTING=True, QUEUE_IMMEDIATE=True)
    server_app = create_app(config)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)
    # Werkzeug's dev server leaves a file response unclosed when the browser aborts a request
    # at shutdown; collect it here rather than let its ResourceWarning land in a later test.
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    with server_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def browser_context(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # A fresh profile per run: nothing cached, nothing remembered.
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                       headless=True, args=ARGS, locale="zh-CN")
        yield context
        context.close()
