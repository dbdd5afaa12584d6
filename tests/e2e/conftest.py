"""The e2e suite's fixtures: the test app served over real HTTP, and a fresh chromium profile."""
import os
import socket
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from lms.extensions import db

REPO_ROOT = Path(__file__).resolve().parents[2]


# A loaded 2-core CI machine hashes and sends chunks slowly: assertions on page text wait up to
# 30 s (Playwright's 5 s default made the uploader test fail under load, not because it was wrong).
expect.set_options(timeout=30_000)


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


# axe-core (package.json's devDependencies, installed by `make node-packages`; never copied into the
# static folder, so never served) runs in every page the suite opens: an init script puts it into
# each document and runs it once the page has loaded; the results come back through a binding, and
# the browser_context fixture fails the test on any violation. AXE_CORE overrides the script's path.
AXE = os.environ.get("AXE_CORE") or str(REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js")
AXE_RUN = """
if (window.top === window) {
  window.__axeDone = false;
  window.addEventListener('load', () => setTimeout(async () => {
    try {
      const result = await axe.run(document, {resultTypes: ['violations']});
      await window.__axeReport(location.href, result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))})));
    } catch (e) {
      await window.__axeReport(location.href, [{id: 'axe-error', help: String(e), nodes: []}]);
    }
    window.__axeDone = true;
  }, 0));
}
"""


def _axe_script() -> str:
    if not os.path.exists(AXE):
        pytest.fail(f"axe-core is missing ({AXE}): run `make node-packages`")
    with open(AXE, encoding="utf-8") as fh:
        return fh.read() + "\n" + AXE_RUN


def axe_settled(page) -> None:
    """Wait until axe has looked at the page now open (the fixture waits for every open page at the end)."""
    if page.is_closed():
        return
    try:
        page.wait_for_function("() => window.__axeDone === true", timeout=30_000)
    except Exception:  # the page navigated or closed meanwhile: that page is checked on its own load
        pass


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
    """A fresh chromium profile with axe in every page; fails the test on any accessibility violation."""
    from playwright.sync_api import sync_playwright

    script = _axe_script()
    violations = {}

    def report(_source, url, found):
        for v in found:
            violations.setdefault((url.split("#")[0], v["id"]), v)

    with sync_playwright() as p:
        # A fresh profile per run: nothing cached, nothing remembered.
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                       headless=True, args=ARGS, locale="zh-CN")
        context.expose_binding("__axeReport", report)
        context.add_init_script(script=script)
        yield context
        for page in context.pages:
            axe_settled(page)
        context.close()
    assert not violations, "axe found accessibility violations:\n" + "\n".join(
        f"{url}: {v['id']} ({v.get('impact')}) {v['help']}\n    " + "\n    ".join(v["nodes"])
        for (url, _id), v in sorted(violations.items()))
