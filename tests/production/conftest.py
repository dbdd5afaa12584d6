"""Fixtures of the production tests: one cluster for the session (see ``cluster.py``), its accounts,
and a course published through nginx that the flow and the fault tests share.

These tests never use the in-process test app: everything goes over HTTP through nginx, and the
database is read straight from PostgreSQL.
"""
from __future__ import annotations

import pytest

from tests.production.browser import Browser
from tests.production.cluster import Cluster

PASSWORD = "Prod-staff-pass-9"
PIN = "583920"
VILLAGE = "621123100201"
COUNTY = "621123000000"
LEARNERS = [f"139000000{n:02d}" for n in range(1, 9)]


# The flow first, then the faults from the one that disturbs least: each fault test leaves the
# layout whole again for the next (the killed host or worker restarted, the server back).
ORDER = ("test_flow", "test_fault_web_host", "test_fault_worker", "test_fault_postgres", "test_fault_redis",
         "test_fault_disk")


def pytest_collection_modifyitems(items):
    # This hook sees the whole session's items: reorder only ours, in the places they hold.
    ours = [i for i, item in enumerate(items) if item.module.__name__.startswith("tests.production.")]
    ranked = sorted((items[i] for i in ours), key=lambda item: ORDER.index(item.module.__name__.rsplit(".", 1)[-1]))
    for slot, item in zip(ours, ranked):
        items[slot] = item


@pytest.fixture(autouse=True)
def _isolated():
    """Replaces the suite's per-test app context and table wipe: this cluster has its own database."""
    yield


@pytest.fixture(scope="session")
def cluster():
    layout = Cluster()
    try:
        ids = layout.start([
            {"username": "prod-trainer", "role": "trainer", "password": PASSWORD, "display_name": "生产测试老师"},
            {"username": "prod-county", "role": "official", "password": PASSWORD, "region_code": COUNTY,
             "display_name": "渭源县测试干部"},
            *({"username": phone, "role": "learner", "password": PIN, "region_code": VILLAGE,
               "display_name": f"学员{phone[-2:]}"} for phone in LEARNERS)])
        layout.learner_ids = {phone: ids[phone] for phone in LEARNERS}
        yield layout
    finally:
        layout.stop()


@pytest.fixture
def trainer(cluster) -> Browser:
    browser = Browser(cluster.url)
    assert browser.sign_in_staff("prod-trainer", PASSWORD).status == 302
    return browser


@pytest.fixture
def official(cluster) -> Browser:
    browser = Browser(cluster.url)
    assert browser.sign_in_staff("prod-county", PASSWORD).status == 302
    return browser


def learner(cluster, n: int) -> Browser:
    browser = Browser(cluster.url, agent=f"Mozilla/5.0 xiangxue-production-test learner {n}")
    answer = browser.sign_in_learner(LEARNERS[n], PIN)
    assert answer.status == 302, answer.text[:500]
    return browser


@pytest.fixture(scope="session")
def published(cluster, tmp_path_factory):
    """A video uploaded in chunks, transcoded by the worker and published in a course, via nginx."""
    from tests.production import flows

    browser = Browser(cluster.url)
    assert browser.sign_in_staff("prod-trainer", PASSWORD).status == 302
    clip = flows.make_clip(tmp_path_factory.mktemp("clips") / "lamian.mp4", seconds=6)
    asset = flows.upload(browser, clip, "拉面示范")
    flows.wait_ready(browser, asset, cluster)
    return flows.publish_course(browser, cluster, asset, "牛肉拉面生产测试")
