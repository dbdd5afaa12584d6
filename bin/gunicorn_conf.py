"""gunicorn settings of ``bin/serve`` (``make run``): the app is loaded once, in the master, and
the workers are forked from it, so the imported code and the app's tables are shared pages
counted once (bench/footprint.py measures the sum of PSS)."""
import gc

preload_app = True


def when_ready(server):
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
