from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles: str):
    """Signed in with one of ``roles``; anyone else gets 403 (or the sign-in page when signed out)."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
