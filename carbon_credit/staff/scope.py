"""Who a staff member may act on: the one access rule of the platform.

A *scope* is the tuple of community ids a caller acts in, or ``None`` for an
admin (every community). Services that read or change a resident, or an object
that belongs to communities (station, campaign, reward, redemption, review,
figures), take the caller's scope and check it here.

The rule: a worker acts only on residents of their communities and on objects
of their communities; an admin on everything. What lies outside the scope is
answered exactly as what does not exist (404 with the object's ``*_not_found``
code, or the field error an unknown id gets), so ids cannot be probed.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

from sqlalchemy import select

from carbon_credit.errors import NotFound
from carbon_credit.models import Resident

Scope = Optional[Sequence[int]]


class OutOfScope(NotFound):
    """Raised for an object outside the caller's communities; it reads as 'not found'."""


def covers(scope: Scope, community_id: Optional[int]) -> bool:
    """True when the caller may act in ``community_id`` (admins: always)."""
    return scope is None or (community_id is not None and community_id in scope)


def covers_all(scope: Scope, community_ids: Iterable[int]) -> bool:
    """True when every community is the caller's (an object reaching others is not theirs to change)."""
    return scope is None or set(community_ids) <= set(scope)


def covers_any(scope: Scope, community_ids: Iterable[int]) -> bool:
    return scope is None or bool(set(community_ids) & set(scope))


def require_community(scope: Scope, community_id: Optional[int], *, code: str = "community_not_found",
                      message: str = "No such community in your area.", errors: Optional[dict] = None) -> None:
    if not covers(scope, community_id):
        raise OutOfScope(message, code=code, errors=errors)


def require_resident(session, scope: Scope, resident_id: Optional[int], *, code: str = "resident_not_found",
                     message: str = "No such resident in your area.", errors: Optional[dict] = None) -> Resident:
    """The resident, if the caller may act on them; otherwise the same 404 as an unknown resident."""
    resident = session.get(Resident, resident_id) if resident_id is not None else None
    if resident is None or not covers(scope, resident.community_id):
        raise OutOfScope(message, code=code, errors=errors)
    return resident


def resident_community(session, resident_id: int) -> Optional[int]:
    return session.scalar(select(Resident.community_id).where(Resident.id == resident_id))


__all__ = ["OutOfScope", "Scope", "covers", "covers_all", "covers_any", "require_community", "require_resident",
           "resident_community"]
