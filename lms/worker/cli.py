"""``flask worker``: the huey consumer, with the app already created (tasks push their own context),
and the outbox relay that hands it the jobs requests wrote (lms.queue)."""
import click


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option("--relay/--no-relay", default=True, show_default=True,
              help="Relay queued jobs from the database to the queue (safe in several workers).")
def cli(workers, relay):
    """Run the job consumer (transcoding, imports, indexing) and the outbox relay."""
    import logging
    import threading

    from flask import current_app

    from lms.queue import huey, relay_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # max_delay 1 s: an idle consumer polls SQLite at most a second apart (huey's default backs off
    # to 10 s), so a published course is searchable within seconds (search issue: < 5 s).
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True, max_delay=1.0)
    stop = threading.Event()
    if relay:
        app = current_app._get_current_object()
        threading.Thread(target=relay_forever, args=(app, stop), name="outbox-relay", daemon=True).start()
    try:
        consumer.run()
    finally:
        stop.set()
