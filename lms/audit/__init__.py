"""Audit log: every state change an official, trainer or admin makes, in the same transaction."""
from lms.audit.services import record

__all__ = ["record"]
