"""Signals other areas subscribe to.

``registry_changed`` is sent inside the import's transaction, once per import, with the 12-digit
codes of the villages whose households or members were written (``village_codes``). The skill-goal
roll-ups mark those villages for a recount; receivers flush, never commit.

``registry_changing`` is sent before a change confined to a few households (a member removed, a
household moved), with their ids (``household_ids``) and the villages concerned before and after
(``village_codes``). A receiver may return a context manager: the change runs inside it, so the
roll-ups count those households before and after and move in the same transaction.
"""
from blinker import Namespace

_signals = Namespace()

registry_changed = _signals.signal("registry-changed")
registry_changing = _signals.signal("registry-changing")
