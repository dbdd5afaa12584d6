"""gunicorn settings of ``bin/serve`` (``make run``): the app is loaded once, in the master, and
the workers are forked from it, so the imported code and the app's tables are shared pages
counted once (bench/footprint.py measures the sum of PSS)."""
import gc
import os
import sys
import time

preload_app = True


def when_ready(server):
    # One copy of jieba's dictionary (~65 MB) for every web worker, loaded here before the fork,
    # instead of one copy per worker at its first search. pypinyin's tables (~55 MB) are left to
    # the worker that first needs them (a pinyin query, a synonym, a highlight): preloading both
    # would put the set at rest above 300 MB (bench/footprint.py).
    from search.analysis import load_dictionary

    load_dictionary()
    # The mappers too, once before the fork, rather than in each worker at its first request.
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    _wait_for_database(server)
    # Objects that exist now live as long as the process: keep the collector from writing to
    # them (a write would copy the shared page into each worker).
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    # Connections the master may have opened while creating the app belong to the master:
    # each worker opens its own (close=False leaves the master's sockets alone).
    from lms.extensions import db
    from wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def _wait_for_database(server):
    """bin/serve: the job worker migrates and seeds the database while this master loads the app
    and the dictionary; the web workers are forked only once it has (SERVE_READY_FILE exists), so
    no page is served from a database not yet migrated. A stop asked meanwhile (bin/serve stops
    gunicorn when the worker failed) ends the master here, before any worker was forked."""
    ready = os.environ.get("SERVE_READY_FILE")
    while ready and not os.path.exists(ready):
        if not server.SIG_QUEUE.empty():
            server.log.info("Stopped before the database was ready")
            sys.exit(1)
        time.sleep(0.05)
