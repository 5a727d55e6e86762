"""Staff sessions held on the server: signing in, checking a session, and ending it.

A browser keeps only a random secret; the session row (keyed by the secret's
digest) says which staff member it belongs to and whether it still holds. It is
checked on every request, so signing out, changing the password or disabling
the account ends every copy of the cookie at once. Password hashing stays with
the face that signs people in: the domain stores and compares hashes it is given.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update

from carbon_credit.errors import InvalidInput, NotFound
from carbon_credit.models import Staff, StaffSession
from carbon_credit.staff.accounts import check_password_policy, revoke_credentials
from carbon_credit.staff.audit import audit

SECRET_BYTES = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def staff_by_username(session, username: str) -> Optional[Staff]:
    return session.scalar(select(Staff).where(Staff.username == username.strip()))


def may_sign_in(staff: Optional[Staff]) -> bool:
    """Active staff only. Reads the account's state defensively: an ``active`` flag and,
    where the account also has one, a ``status`` that must be "active"."""
    if staff is None or not getattr(staff, "active", True):
        return False
    status = getattr(staff, "status", None)
    return status is None or status == "active"


def open_session(session, staff: Staff, now: datetime, *, lifetime: timedelta) -> str:
    """Record a new session and return the secret to hand to the browser (never stored)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    session.add(StaffSession(id=digest(secret), staff_id=staff.id, created_at=now, expires_at=now + lifetime))
    audit(session, now, "staff.sign_in", "staff", staff.id, actor_id=staff.id)
    session.flush()
    return secret


def session_staff(session, secret: Optional[str], now: datetime) -> Optional[tuple[StaffSession, Staff]]:
    """The live session named by ``secret`` and its staff member, or None when it does not hold
    (unknown, ended, expired, or the account may no longer sign in)."""
    if not secret:
        return None
    record = session.get(StaffSession, digest(secret))
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    staff = session.get(Staff, record.staff_id)
    if not may_sign_in(staff):
        return None
    return record, staff


def end_session(session, secret: Optional[str], now: datetime, *, reason: str = "sign_out") -> None:
    """End one session (signing out); an unknown or ended session is left as it is."""
    if not secret:
        return
    record = session.get(StaffSession, digest(secret))
    if record is not None and record.revoked_at is None:
        record.revoked_at, record.revoked_reason = now, reason
        audit(session, now, "staff.sign_out", "staff", record.staff_id, actor_id=record.staff_id)
        session.flush()


def end_all_sessions(session, staff_id: int, now: datetime, *, reason: str) -> int:
    """End every live session of a staff member (password changed, account disabled)."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount or 0


def change_own_password(session, staff_id: int, new_password: str, new_hash: str, now: datetime) -> Staff:
    """Set a staff member's new password (policy checked on the plain text, the hash stored),
    end every session they have, this one included, and refuse their API tokens."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such staff member.", code="staff_not_found")
    check_password_policy(staff.username, new_password)
    if not new_hash:
        raise InvalidInput(errors={"password": ["missing hash"]})
    staff.password_hash = new_hash
    ended = revoke_credentials(session, staff, now, reason="password_changed")
    audit(session, now, "staff.change_password", "staff", staff.id, actor_id=staff.id, sessions_ended=ended)
    session.flush()
    return staff


__all__ = ["change_own_password", "digest", "end_all_sessions", "end_session", "may_sign_in", "open_session",
           "session_staff", "staff_by_username"]
