"""The signature partners put on every request, and the replay checks.

String to sign (UTF-8, lines joined by "\\n")::

    METHOD            upper case, e.g. POST
    PATH              the request path, with "?query" when there is one
    TIMESTAMP         unix seconds, as sent in X-Timestamp
    NONCE             8–64 characters [A-Za-z0-9_-], as sent in X-Nonce
    hex sha256(body)  of the raw body bytes (sha256 of b"" for an empty body)

X-Signature is hex(HMAC-SHA256(secret, string to sign)). The timestamp must lie
within ±300 s of the server's clock and a nonce is accepted once per partner.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import DomainError
from carbon_credit.models.partners import PartnerNonce

MAX_SKEW = timedelta(seconds=300)
# Nonces are kept twice as long as a timestamp stays acceptable, so a replay can never outlive its nonce.
NONCE_TTL = 2 * MAX_SKEW
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class PartnerAuthError(DomainError):
    status = 401
    code = "partner_unauthorized"
    message = "The request is not signed by a known partner."


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((method.upper(), path, str(timestamp), nonce, body_digest(body)))


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_timestamp(timestamp: str, now: datetime) -> int:
    """The X-Timestamp as an int, refused when it is not within the allowed skew of ``now``."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        raise PartnerAuthError("X-Timestamp must be unix seconds.", code="bad_timestamp")
    value = int(timestamp)
    if abs(now.timestamp() - value) > MAX_SKEW.total_seconds():
        raise PartnerAuthError("X-Timestamp is more than 300 s away from the server's clock.",
                               code="stale_timestamp")
    return value


def check_nonce_format(nonce: str) -> None:
    if not nonce or not NONCE_PATTERN.match(nonce):
        raise PartnerAuthError("X-Nonce must be 8 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.",
                               code="bad_nonce")


def check_signature(secret: str, signature: str, method: str, path: str, timestamp: str, nonce: str,
                    body: bytes) -> None:
    expected = sign(secret, method, path, timestamp, nonce, body)
    if not hmac.compare_digest(expected.encode(), (signature or "").strip().lower().encode()):
        raise PartnerAuthError("The signature does not match the request.", code="bad_signature")


class DatabaseNonces:
    """Nonces in a table with a unique (partner, nonce) constraint; old ones pruned as we go."""

    def __init__(self, session):
        self.session = session

    def remember(self, partner_id: int, nonce: str, now: datetime) -> bool:
        """True the first time this partner uses the nonce, False on a replay."""
        self.session.execute(delete(PartnerNonce).where(PartnerNonce.partner_id == partner_id,
                                                        PartnerNonce.created_at < now - NONCE_TTL))
        try:
            with self.session.begin_nested():
                self.session.add(PartnerNonce(partner_id=partner_id, nonce=nonce, created_at=now))
        except IntegrityError:
            return False
        return True


class RedisNonces:
    """Nonces as Redis keys set with NX and an expiry: shared by every API host, pruned by Redis."""

    def __init__(self, client, prefix: str = "partner-nonce"):
        self.client = client
        self.prefix = prefix

    def remember(self, partner_id: int, nonce: str, now: datetime) -> bool:
        key = f"{self.prefix}:{partner_id}:{nonce}"
        return bool(self.client.set(key, "1", nx=True, ex=int(NONCE_TTL.total_seconds())))


def prune_nonces(session, now: datetime) -> int:
    """Delete every partner's expired nonces (a job may run this; requests prune their own)."""
    result = session.execute(delete(PartnerNonce).where(PartnerNonce.created_at < now - NONCE_TTL))
    return result.rowcount or 0
