"""Finding a resident on site, for a worker standing in front of them without a phone to scan.

By the name they registered with and the last four digits of their phone, or
by their resident code (the number printed on their card). Only residents of
the worker's communities are found (``scope``; None for an admin), and only
active accounts: a blocked or unfollowed resident is not checked in.
"""
from __future__ import annotations

import re
from typing import Optional

from sqlalchemy import select

from carbon_credit.errors import InvalidInput
from carbon_credit.models import Community, Resident
from carbon_credit.staff.scope import Scope

MAX_MATCHES = 10


def find_residents_by_name_and_tail(session, scope: Scope, name: str, phone_tail: str) -> list[Resident]:
    """Every active resident in scope with exactly this name and phone tail (several people may share both)."""
    name, phone_tail = (name or "").strip(), (phone_tail or "").strip()
    problems = {}
    if not name:
        problems["name"] = ["required"]
    if not re.fullmatch(r"\d{4}", phone_tail):
        problems["phone_tail"] = ["four digits"]
    if problems:
        raise InvalidInput("Give the name and the last four digits of the phone.", errors=problems)
    query = (select(Resident).where(Resident.display_name == name, Resident.phone_tail == phone_tail,
                                    Resident.status == "active")
             .order_by(Resident.id).limit(MAX_MATCHES))
    if scope is not None:
        query = query.where(Resident.community_id.in_(list(scope) or [-1]))
    return list(session.scalars(query))


def resident_in_scope(session, scope: Scope, resident_id: Optional[int]) -> Optional[Resident]:
    """The active resident with this id if the caller may act on them, else None."""
    resident = session.get(Resident, resident_id) if resident_id is not None else None
    if resident is None or resident.status != "active":
        return None
    if scope is not None and resident.community_id not in scope:
        return None
    return resident


def community_label(session, community_id: Optional[int]) -> str:
    community = session.get(Community, community_id) if community_id is not None else None
    return f"{community.street.name} · {community.name}" if community else ""


__all__ = ["community_label", "find_residents_by_name_and_tail", "resident_in_scope"]
