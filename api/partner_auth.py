"""Partner request signing on the HTTP side: the cipher for stored secrets, the nonce store,
and the ``partner_required`` decorator.

The scheme itself (string to sign, checks, error codes) is in
carbon_credit/partners/signing.py and documented in the README's partner section.
"""
from __future__ import annotations

import base64
from functools import wraps

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g, request
from flask_smorest import Blueprint

from carbon_credit.actions.intake import IdentityKeys
from carbon_credit.partners.keys import SignedRequest, verify_partner_request
from carbon_credit.partners.signing import DatabaseNonces, RedisNonces
from carbon_credit.timeutil import utcnow

from .extensions import db

HKDF_INFO = b"carbon-credit partner secrets v1"
SIGNATURE_DOC = (
    "Partner requests are signed: X-Partner-Key (key id), X-Timestamp (unix seconds, within 300 s), "
    "X-Nonce (8-64 chars, once per partner) and X-Signature = hex HMAC-SHA256(secret, "
    "METHOD + \"\\n\" + PATH + \"\\n\" + TIMESTAMP + \"\\n\" + NONCE + \"\\n\" + hex sha256(body)). "
    "Failures answer 401 with code signature_missing, unknown_partner_key, bad_timestamp, stale_timestamp, "
    "bad_nonce, bad_signature or nonce_reused."
)
SECURITY_SCHEME = {"type": "apiKey", "in": "header", "name": "X-Signature", "description": SIGNATURE_DOC}


def partner_cipher() -> Fernet:
    """Fernet keyed by HKDF-SHA256 over SECRET_KEY: partner secrets are encrypted at rest with it."""
    cached = current_app.extensions.get("partner_cipher")
    if cached is None or cached[0] != current_app.config["SECRET_KEY"]:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            current_app.config["SECRET_KEY"].encode())
        cached = (current_app.config["SECRET_KEY"], Fernet(base64.urlsafe_b64encode(key)))
        current_app.extensions["partner_cipher"] = cached
    return cached[1]


def nonce_store():
    """Redis (SET NX with expiry) when REDIS_URL is set, else the partner_nonces table."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return DatabaseNonces(db.session)
    client = current_app.extensions.get("partner_redis")
    if client is None:
        import redis

        client = current_app.extensions["partner_redis"] = redis.Redis.from_url(url)
    return RedisNonces(client)


def identity_keys() -> IdentityKeys:
    return IdentityKeys(card_key=current_app.config["CARD_HASH_KEY"], phone_key=current_app.config["PHONE_HASH_KEY"])


def signed_request() -> SignedRequest:
    query = request.query_string.decode("latin-1")
    return SignedRequest(
        key_id=request.headers.get("X-Partner-Key", ""), timestamp=request.headers.get("X-Timestamp", ""),
        nonce=request.headers.get("X-Nonce", ""), signature=request.headers.get("X-Signature", ""),
        method=request.method, path=request.path + (f"?{query}" if query else ""),
        body=request.get_data(cache=True),
    )


def current_partner():
    return g.get("partner")


def partner_required(view):
    """Verify the partner's signature before anything else reads the request."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.partner = verify_partner_request(db.session, signed_request(), utcnow(), cipher=partner_cipher(),
                                           nonces=nonce_store())
        return view(*args, **kwargs)

    return Blueprint.doc(security=[{"partnerSignature": []}], responses={"401": "UNAUTHORIZED"})(wrapper)
