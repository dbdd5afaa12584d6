"""Index jobs: the worker is the only writer of the search index.

The courses area announces publish and edit (``course_published``) and unpublish
(``course_unpublished``); the receivers below queue ``index_course`` and ``remove_course`` in
that same transaction, so the job runs once it commits. Both bring the index in line with what
the database says now, so a late or repeated job cannot undo a newer change.
"""
from __future__ import annotations

import logging

from huey import crontab

from lms.forked import run_in_child
from lms.queue import app_periodic_task, app_task, enqueue

log = logging.getLogger(__name__)


def _sync(course_id: int) -> str:
    from search import documents, indexer
    from search.storage import index_root

    doc = documents.published_document(course_id)
    if doc is None:
        return indexer.apply(index_root(), removals=[course_id],
                             rebuild_source=documents.published_documents)
    return indexer.apply(index_root(), upserts=[doc], rebuild_source=documents.published_documents)


@app_task(retries=2, retry_delay=10)
def index_course(course_id: int) -> str:
    """Add or refresh a course in the index (or drop it if it is no longer published)."""
    # In a child process: the analysis tables it loads leave with it (lms/forked.py).
    return run_in_child(_sync, course_id)


@app_task(retries=2, retry_delay=10)
def remove_course(course_id: int) -> str:
    """Take an unpublished course out of the index (kept if it was published again since)."""
    return run_in_child(_sync, course_id)


def on_course_published(sender=None, course_id: int | None = None, **_extra) -> None:
    """Receiver of ``courses.signals.course_published`` (connected by ``search.init_app``)."""
    enqueue(index_course, course_id)


def on_course_unpublished(sender=None, course_id: int | None = None, **_extra) -> None:
    """Receiver of ``courses.signals.course_unpublished``."""
    enqueue(remove_course, course_id)


@app_task(retries=1, retry_delay=60)
def rebuild_index() -> dict:
    """Build a new index generation from the database and swap it in."""
    return run_in_child(_rebuild)


def _rebuild() -> dict:
    from search import documents, indexer
    from search.storage import index_root

    meta = indexer.rebuild(index_root(), documents.published_documents())
    log.info("search index rebuilt: %s documents in %s s", meta["documents"], meta["seconds"])
    return meta


def verify(repair: bool = True) -> dict:
    """Compare the index with the database: rebuild a missing, stale or corrupt index;
    re-index courses whose indexed copy differs from what the database says now (any
    change whose job was lost), drop courses no longer published."""
    from search import documents, indexer, storage
    from search.schema import document_version
    from search.storage import index_root

    root = index_root()
    try:
        indexed = indexer.indexed_versions(root)
    except storage.IndexUnavailable as exc:
        report = {"status": exc.status, "detail": exc.detail}
        if repair:
            report["rebuilt"] = indexer.rebuild(root, documents.published_documents())["documents"]
        return report
    outdated, wanted = [], set()
    for doc in documents.published_documents():
        key = str(doc["id"])
        wanted.add(key)
        if indexed.get(key) != document_version(doc):
            outdated.append(doc)
    extra = sorted(int(i) for i in indexed.keys() - wanted)
    report = {"status": "ok" if not (outdated or extra) else "stale",
              "documents": len(indexed), "outdated": len(outdated), "extra": len(extra)}
    if repair and (outdated or extra):
        indexer.apply(root, upserts=outdated, removals=extra,
                      rebuild_source=documents.published_documents)
    return report


@app_periodic_task(crontab(minute="*/30"))
def verify_index() -> dict:
    """Every 30 minutes: catch changes whose index job was lost."""
    report = run_in_child(verify, True)
    if report.get("status") != "ok":
        log.warning("search index was %s: %s", report.get("status"), report)
    return report
