"""``flask worker``: the huey consumer, with the app already created (tasks push their own context),
and the outbox relay that hands it the jobs requests wrote (lms.queue). Idle, it looks at a
database at most once a second (lms.worker.idle)."""
import click


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option("--relay/--no-relay", default=True, show_default=True,
              help="Relay queued jobs from the database to the queue (safe in several workers).")
@click.option("--first", "first", multiple=True, metavar="COMMAND",
              help="A flask command run in this process before the worker starts, e.g. "
                   "'demo seed --upgrade' (bin/serve): the app is started once, not twice. "
                   "The worker does not start if it fails.")
@click.option("--ready-file", type=click.Path(dir_okay=False),
              help="Created once the --first commands are done and the worker starts "
                   "(bin/serve's web server waits for it).")
def cli(workers, relay, first, ready_file):
    """Run the job consumer (transcoding, imports, indexing) and the outbox relay."""
    import logging
    import threading
    from pathlib import Path

    from flask import current_app

    from lms.queue import relay_forever
    from lms.worker.idle import create_consumer

    for line in first:
        _run_flask_command(line)
    # force after --first: an upgrade configured logging from alembic.ini (warnings only).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=bool(first))
    consumer, wake = create_consumer(workers)
    stop = threading.Event()
    if relay:
        app = current_app._get_current_object()
        threading.Thread(target=relay_forever, args=(app, stop), kwargs={"sent_event": wake}, name="outbox-relay",
                         daemon=True).start()
    if ready_file:
        Path(ready_file).touch()
    try:
        consumer.run()
    finally:
        stop.set()


def _run_flask_command(line: str) -> None:
    """Run another ``flask`` command line in this process, on the app this one already made (a
    ``flask`` start costs one to two seconds of importing and creating the app)."""
    import shlex

    root = click.get_current_context().find_root()
    with root.command.make_context(root.info_name, shlex.split(line), obj=root.obj) as ctx:
        root.command.invoke(ctx)
