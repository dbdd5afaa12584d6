"""Signals other areas subscribe to.

``registry_changed`` is sent inside the import's transaction, once per import, with the 12-digit
codes of the villages whose households or members were written (``village_codes``). The skill-goal
roll-ups mark those villages for a recount; receivers flush, never commit.
"""
from blinker import Namespace

_signals = Namespace()

registry_changed = _signals.signal("registry-changed")
