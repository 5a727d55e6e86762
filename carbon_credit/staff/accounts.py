"""Staff accounts: community workers and the operator's admins.

Hashing is the web face's business: services that set a password take the
face's ``hash_password`` (and ``check_password`` where the old one is checked)
and apply ``check_password_policy`` to the plain text first, so no path (the
CLI, the API, the console) can store a password the policy refuses.

Disabling an account, changing or resetting its password and signing out raise
its ``token_epoch``, which refuses every token issued before (api/auth.py), and
end every console session of the account (``staff_sessions``), so each face
refuses the old credentials at once.
Each service flushes and audits; the caller commits.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import AuditLog, Community, Staff, StaffSession
from carbon_credit.staff.audit import audit

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
    password: str,
    hash_password: Callable[[str], str],
    community_ids: Iterable[int] = (),
    display_name: str = "",
    actor_kind: str = "system",
    actor_id: int | None = None,
) -> Staff:
    """Add a staff member and audit it. Flushes, never commits.

    Workers act only within their communities, so a worker needs at least one.
    """
    check_password_policy(username, password)
    if role not in STAFF_ROLES:
        raise InvalidInput(errors={"role": [f"Must be one of {', '.join(STAFF_ROLES)}."]})
    communities = _load_communities(session, community_ids)
    if role == "worker" and not communities:
        raise InvalidInput(errors={"communities": ["A worker needs at least one community."]})
    staff = Staff(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
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


def list_staff(session: Session, *, role: str | None = None, active: bool | None = None) -> list[Staff]:
    """Every staff member (optionally of one role, active or not), by username."""
    query = select(Staff).order_by(Staff.username)
    if role is not None:
        query = query.where(Staff.role == role)
    if active is not None:
        query = query.where(Staff.active == active)
    return list(session.scalars(query))


def get_staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such staff member.", code="staff_not_found")
    return staff


def revoke_credentials(session: Session, staff: Staff, now: datetime, *, reason: str) -> int:
    """Refuse every token and end every console session the staff member holds; returns the sessions ended."""
    staff.token_epoch = (staff.token_epoch or 0) + 1
    ended = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False))
    return ended.rowcount or 0


def assign_communities(session: Session, now: datetime, staff_id: int, community_ids: Iterable[int], *,
                       actor_id: int) -> Staff:
    """Replace a worker's communities (at least one); admins act in every community and have none."""
    staff = get_staff(session, staff_id)
    if staff.role != "worker":
        raise InvalidInput("Admins act in every community; only workers are assigned communities.",
                           code="not_a_worker")
    communities = _load_communities(session, community_ids)
    if not communities:
        raise InvalidInput(errors={"community_ids": ["A worker needs at least one community."]})
    before = staff.community_ids
    staff.communities = communities
    session.flush()
    audit(session, now, "staff.assign_communities", "staff", staff.id, actor_id=actor_id,
          before=before, after=staff.community_ids)
    return staff


def set_staff_active(session: Session, now: datetime, staff_id: int, active: bool, *, actor_id: int,
                     reason: str) -> Staff:
    """Disable (tokens revoked at once) or enable a staff member; nobody disables themselves."""
    staff = get_staff(session, staff_id)
    if staff.id == actor_id and not active:
        raise Conflict("You cannot disable your own account.", code="cannot_disable_self")
    if staff.active == active:
        raise Conflict(f"The account is already {'enabled' if active else 'disabled'}.",
                       code="staff_already_active" if active else "staff_already_disabled")
    staff.active = active
    if not active:
        revoke_credentials(session, staff, now, reason="disabled")
    session.flush()
    audit(session, now, "staff.enable" if active else "staff.disable", "staff", staff.id, actor_id=actor_id,
          reason=reason)
    return staff


def change_own_password(session: Session, now: datetime, staff_id: int, old_password: str, new_password: str, *,
                        check_password: Callable[[str | None, str], bool],
                        hash_password: Callable[[str], str]) -> Staff:
    """A staff member's new password, given the current one; every earlier token is revoked."""
    staff = get_staff(session, staff_id)
    if not check_password(staff.password_hash, old_password):
        raise InvalidInput("The current password is wrong.", code="wrong_password",
                           errors={"old_password": ["Wrong password."]})
    check_password_policy(staff.username, new_password)
    if new_password == old_password:
        raise InvalidInput("The new password is the current one.", errors={"new_password": ["Must differ."]})
    _set_password(session, now, staff, new_password, hash_password)
    session.flush()
    audit(session, now, "staff.change_password", "staff", staff.id, actor_id=staff.id)
    return staff


def reset_staff_password(session: Session, now: datetime, staff_id: int, new_password: str, *, actor_id: int,
                         hash_password: Callable[[str], str]) -> Staff:
    """An admin sets a staff member's password (a forgotten one, a leak); their tokens are revoked."""
    staff = get_staff(session, staff_id)
    check_password_policy(staff.username, new_password)
    _set_password(session, now, staff, new_password, hash_password)
    session.flush()
    audit(session, now, "staff.reset_password", "staff", staff.id, actor_id=actor_id)
    return staff


def sign_out_staff(session: Session, now: datetime, staff_id: int) -> Staff:
    """Sign a staff member out everywhere: every token they hold is refused from now on."""
    staff = get_staff(session, staff_id)
    revoke_credentials(session, staff, now, reason="sign_out")
    session.flush()
    audit(session, now, "staff.sign_out", "staff", staff.id, actor_id=staff.id)
    return staff


def _set_password(session: Session, now: datetime, staff: Staff, password: str,
                  hash_password: Callable[[str], str]) -> None:
    staff.password_hash = hash_password(password)
    revoke_credentials(session, staff, now, reason="password_changed")
