"""Staff accounts: community workers and the operator's admins.

The password arrives already hashed: hashing is the web face's business, the
domain only stores the result.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidInput, NotFound
from .models import AuditLog, Community, Staff

STAFF_ROLES = ("admin", "worker")
PASSWORD_MIN_LENGTH = 10


def check_password_policy(username: str, password: str) -> None:
    """Refuse a staff password that is too short or is the username; raises InvalidInput on ``password``."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Must be at least {PASSWORD_MIN_LENGTH} characters.")
    if password.strip().casefold() == username.strip().casefold():
        problems.append("Must not be the username.")
    if problems:
        raise InvalidInput("The password does not meet the policy.", errors={"password": problems})


def create_staff(
    session: Session,
    now: datetime,
    *,
    username: str,
    role: str,
    password_hash: str,
    community_ids: Iterable[int] = (),
    display_name: str = "",
    actor_kind: str = "system",
    actor_id: int | None = None,
) -> Staff:
    """Add a staff member and audit it. Flushes, never commits.

    Workers act only within their communities, so a worker needs at least one.
    """
    if role not in STAFF_ROLES:
        raise InvalidInput(errors={"role": [f"Must be one of {', '.join(STAFF_ROLES)}."]})
    communities = _load_communities(session, community_ids)
    if role == "worker" and not communities:
        raise InvalidInput(errors={"communities": ["A worker needs at least one community."]})
    staff = Staff(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        active=True,
        created_at=now,
        communities=communities,
    )
    try:
        with session.begin_nested():
            session.add(staff)
    except IntegrityError:
        raise Conflict("This username is taken.", code="username_taken") from None
    session.add(
        AuditLog(
            actor_kind=actor_kind,
            actor_id=actor_id,
            verb="create_staff",
            target_type="staff",
            target_id=str(staff.id),
            detail={"username": username, "role": role, "community_ids": [c.id for c in communities]},
            created_at=now,
        )
    )
    session.flush()
    return staff


def _load_communities(session: Session, community_ids: Iterable[int]) -> list[Community]:
    wanted = sorted(set(community_ids))
    if not wanted:
        return []
    found = session.scalars(select(Community).where(Community.id.in_(wanted)).order_by(Community.id)).all()
    missing = sorted(set(wanted) - {c.id for c in found})
    if missing:
        raise NotFound(f"Unknown community ids: {missing}.", code="community_not_found")
    return list(found)
