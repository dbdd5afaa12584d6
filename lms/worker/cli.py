"""``flask worker``: the huey consumer, with the app already created (tasks push their own context),
and the outbox relay that hands it the jobs requests wrote (lms.queue). Idle, it looks at a
database at most once a second (lms.worker.idle)."""
import click


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option("--relay/--no-relay", default=True, show_default=True,
              help="Relay queued jobs from the database to the queue (safe in several workers).")
@click.option("--first", "first", multiple=True, metavar="COMMAND",
              help="A flask command run before the worker starts, in a child forked from it, e.g. "
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

    if first:
        _run_first(first)
    # force after --first: had it run here rather than in a child, an upgrade configured logging
    # from alembic.ini (warnings only).
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


def _run_first(lines) -> None:
    """The --first commands, in a forked child of this process: the app is made already (a new
    ``flask`` costs one to two seconds of importing and creating it), and what the commands load
    (the demo seed brings the household import, the synthetic registry and the media pipeline,
    ~20 MB) goes back to the system when the child exits instead of staying in the idle worker
    (bench/footprint.py). A fork is safe here because no other thread runs yet (see
    lms/forked.py); were one running, they run in this process."""
    import os
    import sys
    import threading
    import traceback

    if threading.active_count() > 1 or not hasattr(os, "fork"):
        for line in lines:
            _run_flask_command(line)
        return
    from sqlalchemy.orm import configure_mappers

    from lms.extensions import db

    configure_mappers()  # once, here: the child and then this process's jobs both need it
    for engine in db.engines.values():
        engine.dispose()  # no connection shared with the child
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            from flask import current_app

            # A context (and so a database session) of the child's own.
            with current_app.app_context():
                for line in lines:
                    _run_flask_command(line)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # no clean-up of what belongs to the parent
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code != 0:
        raise click.ClickException(f"--first {' / '.join(lines)!r} failed (exit status {code}); "
                                   "the worker does not start.")


def _run_flask_command(line: str) -> None:
    """Run another ``flask`` command line on the app this process made."""
    import shlex

    root = click.get_current_context().find_root()
    with root.command.make_context(root.info_name, shlex.split(line), obj=root.obj) as ctx:
        root.command.invoke(ctx)
