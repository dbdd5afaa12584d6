"""Demo seed steps: each area adds its own in its ``init_app``; ``flask demo seed`` runs them, in
the order the areas were initialised, after the demo regions and accounts.

Kept on the app (``app.extensions``), not in a module list, so a second app built in the same
process (tests do) starts with exactly the steps its own doors registered.
"""
from __future__ import annotations

from collections.abc import Callable

_KEY = "lms.seed_steps"


def register_seed_step(app, step: Callable[[], None]) -> None:
    steps = app.extensions.setdefault(_KEY, [])
    if step not in steps:
        steps.append(step)


def seed_steps(app) -> list[Callable[[], None]]:
    return list(app.extensions.get(_KEY, ()))
