"""The ``Idempotency-Key`` request header: required on endpoints that create something for a resident.

A client picks a fresh key per intended action and re-sends the same key when it
retries (a lost response, a double tap), so the action is recorded once.
"""
from __future__ import annotations

import re
from functools import wraps

from flask import g, request
from flask_smorest import Blueprint

from carbon_credit.errors import DomainError

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "1–64 characters of A–Z a–z 0–9 _ -. Re-send the same key to retry: the first result "
                   "comes back (200) and nothing more is credited; the same key with another body is a 409.",
    "schema": {"type": "string", "pattern": KEY_PATTERN.pattern, "maxLength": 64},
}


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status = 400
    message = "Send an Idempotency-Key header (1–64 characters of A–Z a–z 0–9 _ -)."


class IdempotencyKeyInvalid(IdempotencyKeyRequired):
    code = "idempotency_key_invalid"


def idempotency_key_required(view):
    """Read and check the header before the body is parsed; the key is in ``g.idempotency_key``.

    Place it above ``@blp.arguments`` so a missing key is reported first.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not key.strip():
            raise IdempotencyKeyRequired(errors={HEADER: ["required"]})
        if not KEY_PATTERN.match(key):
            raise IdempotencyKeyInvalid("The Idempotency-Key must be 1–64 characters of A–Z a–z 0–9 _ -.",
                                        errors={HEADER: ["1–64 characters of A–Z a–z 0–9 _ -"]})
        g.idempotency_key = key
        return view(*args, **kwargs)

    return Blueprint.doc(parameters=[HEADER_DOC])(wrapper)
