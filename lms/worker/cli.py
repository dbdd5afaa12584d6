"""``flask worker``: the huey consumer, with the app already created (tasks push their own context)."""
import click


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def cli(workers):
    """Run the job consumer (transcoding, imports, indexing)."""
    import logging

    from lms.queue import huey

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # max_delay 1 s: an idle consumer polls SQLite at most a second apart (huey's default backs off
    # to 10 s), so a published course is searchable within seconds (search issue: < 5 s).
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True, max_delay=1.0)
    consumer.run()
