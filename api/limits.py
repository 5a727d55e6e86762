"""Per-view request size limits, applied before the body is read."""
from __future__ import annotations

from functools import wraps

from flask import request


def limit_body(max_bytes: int):
    """Refuse bodies over ``max_bytes`` with 413 (Flask's per-request max_content_length)."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = max_bytes
            return view(*args, **kwargs)

        return wrapper

    return decorator
