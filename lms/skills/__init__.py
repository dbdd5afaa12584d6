"""Skill awards and offline training (``lms.skills``)."""
