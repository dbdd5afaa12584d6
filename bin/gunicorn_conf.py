"""gunicorn settings of ``bin/serve`` (``make run``): the app is loaded once, in the master, and
the workers are forked from it, so the imported code and the app's tables are shared pages
counted once (bench/footprint.py measures the sum of PSS)."""
import gc

preload_app = True


def when_ready(server):
    # One copy of jieba's dictionary (~65 MB) for every web worker, loaded here before the fork,
    # instead of one copy per worker at its first search. pypinyin's tables (~55 MB) are left to
    # the worker that first needs them (a pinyin query, a synonym, a highlight): preloading both
    # would put the set at rest above 300 MB (bench/footprint.py).
    from search.analysis import load_dictionary

    load_dictionary()
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
