"""The ``Idempotency-Key`` request header: one rule for every endpoint that takes one.

A client picks a fresh key per intended action and re-sends the same key when it
retries (a lost response, a double tap), so the action is recorded once. Every
such endpoint (self-declared actions, redemptions, on-site weigh-ins) uses
``idempotency_key_required``: the same length and characters, and the same
answer when the key is missing or malformed, 422 ``validation_error`` naming
the ``Idempotency-Key`` field, like any other invalid input.
"""
from __future__ import annotations

import re
from functools import wraps

from flask import g, request
from flask_smorest import Blueprint

from carbon_credit.errors import DomainError

HEADER = "Idempotency-Key"
MAX_LENGTH = 128  # the stored column's width
KEY_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_LENGTH}}}$")
RULE = f"1–{MAX_LENGTH} characters of A–Z a–z 0–9 _ -"
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": f"{RULE} (a UUID fits). Re-send the same key to retry: the first result comes back and "
                   "nothing more is recorded; the same key with another body is a 409 idempotency_key_reused. "
                   "Missing or malformed: 422 validation_error naming Idempotency-Key.",
    "schema": {"type": "string", "pattern": KEY_PATTERN.pattern, "minLength": 1, "maxLength": MAX_LENGTH},
}


class IdempotencyKeyInvalid(DomainError):
    code = "validation_error"
    status = 422
    message = f"Send an Idempotency-Key header of {RULE}."


def read_idempotency_key() -> str:
    """The request's key, checked against the one rule."""
    key = request.headers.get(HEADER)
    if key is None or not key.strip():
        raise IdempotencyKeyInvalid(errors={HEADER: ["Missing data for required field."]})
    if not KEY_PATTERN.match(key):
        raise IdempotencyKeyInvalid(errors={HEADER: [f"Must be {RULE}."]})
    return key


def idempotency_key_required(view):
    """Check the header before the body is parsed; the key is in ``g.idempotency_key``.

    Place it above ``@blp.arguments`` so a missing key is reported first.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.idempotency_key = read_idempotency_key()
        return view(*args, **kwargs)

    return Blueprint.doc(parameters=[HEADER_DOC])(wrapper)
