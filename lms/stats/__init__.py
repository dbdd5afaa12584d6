"""The skill goal: roll-ups, dashboard, exports (``lms.stats``)."""
