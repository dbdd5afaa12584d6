"""Per-process caches with a bound: when full, the oldest quarter goes (dicts keep insertion
order), never the whole cache at once. The heartbeat path keeps verified session cookies and
CSRF tokens this way; emptying such a cache outright would send every learner of a busy server
through the slow checks in the same second."""
from __future__ import annotations

from itertools import islice


def put(cache: dict, key, value, limit: int) -> None:
    """``cache[key] = value``, first dropping the oldest quarter if the cache holds ``limit``."""
    if key not in cache and len(cache) >= limit:
        # list(islice(...)) runs in C without releasing the GIL: no other thread changes the
        # dict while its oldest keys are taken.
        for old in list(islice(cache, max(1, limit // 4))):
            cache.pop(old, None)
    cache[key] = value
