"""Residents come into being the first time WeChat tells us their openid.

That can happen from several places at once (a follow event, an H5 page's
OAuth exchange, a QR scan), so registration is find-or-create guarded by the
unique openid, never by check-then-insert alone.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Account, Resident


def find_resident_by_openid(session: Session, openid: str) -> Resident | None:
    return session.scalar(select(Resident).where(Resident.openid == openid))


def register_resident(
    session: Session,
    openid: str,
    now: datetime,
    *,
    unionid: str | None = None,
    community_id: int | None = None,
    display_name: str = "",
) -> Resident:
    """The resident with this openid, created with an empty account if new.

    A resident who unfollowed and comes back is active again with the same
    account. Flushes, never commits.
    """
    resident = find_resident_by_openid(session, openid)
    if resident is None:
        resident = _create_resident(session, openid, now, unionid, community_id, display_name)
    elif resident.status == "unfollowed":
        resident.status = "active"
        resident.updated_at = now
    if unionid and resident.unionid is None:
        resident.unionid = unionid
        resident.updated_at = now
    session.flush()
    return resident


def _create_resident(session, openid, now, unionid, community_id, display_name) -> Resident:
    """Insert inside a savepoint; if another transaction registered the openid first, use theirs."""
    resident = Resident(
        openid=openid,
        unionid=unionid,
        community_id=community_id,
        display_name=display_name,
        status="active",
        created_at=now,
        updated_at=now,
    )
    resident.account = Account(balance=0, earned_total=0, grams_total=0, updated_at=now)
    try:
        with session.begin_nested():
            session.add(resident)
    except IntegrityError:
        existing = find_resident_by_openid(session, openid)
        if existing is None:
            raise
        return existing
    return resident
