"""The heartbeat path's per-process caches drop their oldest entries when full, never all at once."""
from lms import bounded


def test_a_full_cache_drops_its_oldest_quarter_and_keeps_the_rest():
    cache: dict = {}
    for n in range(8):
        bounded.put(cache, n, str(n), limit=8)
    bounded.put(cache, 8, "8", limit=8)
    # The two oldest learners' entries went; the six most recent and the new one stay.
    assert list(cache) == [2, 3, 4, 5, 6, 7, 8]
    bounded.put(cache, 5, "five", limit=8)  # a key already held replaces its value, drops nothing
    assert len(cache) == 7 and cache[5] == "five"


def test_the_session_cookie_cache_keeps_recent_learners_when_it_fills(app):
    interface = app.session_interface
    interface._verified.clear()  # the app is the session's: earlier tests' sign-ins are in this cache
    for n in range(interface.MAX_ENTRIES):
        interface._remember(f"cookie-{n}", {"_user_id": str(n)}, 0.0)
    interface._remember("cookie-new", {"_user_id": "new"}, 0.0)
    assert "cookie-new" in interface._verified and f"cookie-{interface.MAX_ENTRIES - 1}" in interface._verified
    assert "cookie-0" not in interface._verified
    assert len(interface._verified) == interface.MAX_ENTRIES - interface.MAX_ENTRIES // 4 + 1
