"""Bearer tokens for staff and residents, and the checks every protected view makes.

Tokens are signed and timestamped with SECRET_KEY (itsdangerous), not stored:
any gunicorn worker on any host can check one without a shared session store.
The principal is re-read from the database on every request so that a staff
member who was deactivated, or a resident who unfollowed, loses access at once
instead of when the token expires. Each token also carries the account's
``token_epoch``; log-out, a password change or reset, disabling and blocking
raise the epoch, so every token issued before is refused by every instance at
its next request, while the tokens themselves stay stateless.

A verified token's payload is kept in a small per-process table, so the signature
is checked once per token and process; its age is still checked on every request,
and everything revocation depends on (the account's status and epoch) is always
read from the database.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps

from flask import current_app, g, request
from flask_smorest import Blueprint
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from carbon_credit.errors import DomainError, Forbidden
from carbon_credit.models import Resident, Staff
from carbon_credit.staff.scope import require_community
from carbon_credit.staff.signin import policy_from_config, sign_in_staff, throttle_store
from carbon_credit.timeutil import utcnow

from .extensions import db

TOKEN_SALT = "api-token"
ROLES = ("resident", "worker", "admin")
STAFF_ROLES = ("worker", "admin")
# Checked against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    message = "A valid bearer token is required."
    headers = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``community_ids`` is None for admins (all communities)."""

    kind: str  # "staff" | "resident"
    id: int
    role: str  # "admin" | "worker" | "resident"
    community_ids: tuple[int, ...] | None
    obj: Staff | Resident

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """The password against its stored hash; an unknown username (None) costs the same time."""
    if stored_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(stored_hash, password)


def authenticate_staff(session, username: str, password: str) -> Staff:
    """The active staff member with these credentials, throttled per username and per address.

    Raises InvalidCredentials (401) for every failure and SignInThrottled (429, Retry-After).
    """
    config = current_app.config
    return sign_in_staff(session, utcnow(), username, password, address=request.remote_addr,
                         check_password=check_password,
                         store=throttle_store(session, config["REDIS_URL"], prefix=config["SIGN_IN_REDIS_PREFIX"]),
                         policy=policy_from_config(config))


VERIFIED_EXTENSION = "carbon_verified_tokens"
VERIFIED_KEPT = 20_000  # tokens per process whose signature need not be checked again


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def issue_token(kind: str, principal_id: int, role: str, epoch: int = 0) -> dict:
    """A token grant: ``access_token``, ``token_type`` and ``expires_at`` (aware UTC)."""
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    issued = int(time.time())  # never later than the timestamp itsdangerous signs
    token = _serializer().dumps({"k": kind, "id": principal_id, "r": role, "e": epoch})
    expires_at = datetime.fromtimestamp(issued + ttl, tz=timezone.utc)
    return {"access_token": token, "token_type": "Bearer", "expires_at": expires_at}


def issue_staff_token(staff: Staff) -> dict:
    return issue_token("staff", staff.id, staff.role, staff.token_epoch or 0)


def issue_resident_token(resident: Resident) -> dict:
    return issue_token("resident", resident.id, "resident", resident.token_epoch or 0)


def _read_token(token: str) -> dict:
    """The payload of a token signed with this application's key and younger than TOKEN_TTL_SECONDS."""
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    verified = _verified_tokens()
    known = verified.get(token)
    if known is not None and time.time() - known[1] <= ttl:
        return known[0]
    try:
        payload, signed_at = _serializer().loads(token, max_age=ttl, return_timestamp=True)
    except SignatureExpired:
        verified.pop(token, None)
        raise Unauthorized("The token has expired; sign in again.") from None
    except BadSignature:
        raise Unauthorized("The token is not valid.") from None
    if not isinstance(payload, dict) or payload.get("k") not in ("staff", "resident") or not isinstance(
        payload.get("id"), int
    ) or not isinstance(payload.get("e", 0), int):
        raise Unauthorized("The token is not valid.")
    if len(verified) >= VERIFIED_KEPT:
        verified.clear()  # a bound, not a cache policy: the next request of each token verifies it again
    verified[token] = (payload, signed_at.timestamp())
    return payload


def _verified_tokens() -> dict:
    """Token -> (payload, signed at) for this process, valid for the signing key in force (changing it empties it)."""
    key = current_app.config["SECRET_KEY"]
    held = current_app.extensions.get(VERIFIED_EXTENSION)
    if held is None or held[0] != key:
        held = current_app.extensions[VERIFIED_EXTENSION] = (key, {})
    return held[1]


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def load_principal(session, payload: dict) -> Principal:
    """The principal named by a verified token, refused if the account is no longer active."""
    if payload["k"] == "staff":
        staff = session.get(Staff, payload["id"])
        if staff is None or not staff.active:
            raise Unauthorized("This staff account is no longer active.")
        _check_epoch(payload, staff.token_epoch)
        communities = None if staff.role == "admin" else tuple(staff.community_ids)
        return Principal("staff", staff.id, staff.role, communities, staff)
    resident = session.get(Resident, payload["id"])
    check_resident(payload, resident.status if resident is not None else None,
                   resident.token_epoch if resident is not None else 0)
    # Residents hold no community rights: community-scoped views are for staff.
    return Principal("resident", resident.id, "resident", (), resident)


def check_resident(payload: dict, status: str | None, epoch: int | None) -> None:
    """Refuse a resident's token unless the account (as just read; None: gone) is active at the token's epoch."""
    if status == "blocked":
        raise Unauthorized("This resident account is suspended.", code="resident_blocked")
    if status != "active":
        raise Unauthorized("This resident account is not active.")
    _check_epoch(payload, epoch)


def _check_epoch(payload: dict, epoch: int | None) -> None:
    """Tokens from before the last log-out, password change, reset or block are refused."""
    if payload.get("e", 0) != (epoch or 0):
        raise Unauthorized("This token was revoked; sign in again.", code="token_revoked")


def resident_token() -> dict | None:
    """The verified payload of this request's bearer token if it is a resident's, None if it is staff's.

    For views that check the resident's status and epoch in the same statement that reads
    what they answer (``check_resident``); a missing or bad token is refused here (401).
    """
    payload = _read_token(_bearer_token())
    return payload if payload["k"] == "resident" else None


def current_principal() -> Principal | None:
    """The authenticated caller of this request (None outside an ``auth_required`` view)."""
    return g.get("principal")


def authenticate_request(roles: tuple[str, ...] = ()) -> Principal:
    principal = load_principal(db.session, _read_token(_bearer_token()))
    if roles and principal.role not in roles:
        raise Forbidden("Your role may not do this.")
    g.principal = principal
    return principal


def auth_required(*roles: str):
    """Require a bearer token, optionally of one of ``roles``; documents bearerAuth on the view.

    Use below ``@blp.route`` (anywhere among the other smorest decorators)::

        @blp.route("/things")
        class Things(MethodView):
            @auth_required("worker", "admin")
            @blp.response(200, ThingSchema(many=True))
            def get(self): ...
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; use {ROLES}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            authenticate_request(roles)
            return view(*args, **kwargs)

        return bearer_documented(wrapper, roles=roles)

    return decorator


def bearer_documented(view, roles: tuple[str, ...] = ()):
    """Document bearerAuth, the roles that may call the view (``x-roles``; none given: every role)
    and the 401/403 answers, on a view that checks its token itself."""
    return Blueprint.doc(security=[{"bearerAuth": []}], responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"},
                         **{"x-roles": list(roles or ROLES)})(view)


def ensure_community_access(community_id: int) -> None:
    """A community outside a worker's own reads as unknown (404 community_not_found); admins pass."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized()
    require_community(principal.community_ids, community_id)
