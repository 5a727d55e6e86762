"""Streets (街道) and communities (社区): admins create them, rename them and move a community to another street.

A name is unique city-wide for a street and within its street for a community;
the database's constraints decide, and a clash is a domain error. Every change
is audited. Flushes, never commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import Community, Street
from carbon_credit.staff.audit import audit

NAME_MAX = 64


def _name(value) -> str:
    name = str(value or "").strip()
    if not name:
        raise InvalidInput(errors={"name": ["required"]})
    if len(name) > NAME_MAX:
        raise InvalidInput(errors={"name": [f"at most {NAME_MAX} characters"]})
    return name


def get_street(session, street_id: int) -> Street:
    street = session.get(Street, street_id)
    if street is None:
        raise NotFound("No such street.", code="street_not_found")
    return street


def get_community(session, community_id: int) -> Community:
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound("No such community.", code="community_not_found")
    return community


def _flush(session, obj, code: str, message: str) -> None:
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError:
        raise Conflict(message, code=code) from None


def create_street(session, now: datetime, *, name: str, district: str = "", actor_id=None) -> Street:
    street = Street(name=_name(name), district=str(district or "").strip()[:NAME_MAX])
    _flush(session, street, "street_name_taken", "Another street already has this name.")
    audit(session, now, "street.create", "street", street.id, actor_id=actor_id, name=street.name,
          district=street.district)
    return street


def rename_street(session, now: datetime, street_id: int, *, name: str, actor_id=None) -> Street:
    street = get_street(session, street_id)
    before, street.name = street.name, _name(name)
    _flush(session, street, "street_name_taken", "Another street already has this name.")
    audit(session, now, "street.rename", "street", street.id, actor_id=actor_id, before=before, after=street.name)
    return street


def create_community(session, now: datetime, *, street_id: int, name: str, actor_id=None) -> Community:
    street = get_street(session, street_id)
    community = Community(name=_name(name), street_id=street.id)
    _flush(session, community, "community_name_taken", "The street already has a community of this name.")
    audit(session, now, "community.create", "community", community.id, actor_id=actor_id, name=community.name,
          street_id=street.id)
    return community


def rename_community(session, now: datetime, community_id: int, *, name: str, actor_id=None) -> Community:
    community = get_community(session, community_id)
    before, community.name = community.name, _name(name)
    _flush(session, community, "community_name_taken", "The street already has a community of this name.")
    audit(session, now, "community.rename", "community", community.id, actor_id=actor_id, before=before,
          after=community.name)
    return community


def move_community(session, now: datetime, community_id: int, *, street_id: int, actor_id=None) -> Community:
    """Put a community under another street; its residents, stations and history move with it."""
    community = get_community(session, community_id)
    street = get_street(session, street_id)
    before = community.street_id
    community.street_id = street.id
    _flush(session, community, "community_name_taken", "The street already has a community of this name.")
    session.expire(community, ["street"])
    for old_or_new in {before, street.id}:
        session.expire(get_street(session, old_or_new), ["communities"])
    audit(session, now, "community.move", "community", community.id, actor_id=actor_id, from_street_id=before,
          to_street_id=street.id)
    return community


def list_streets(session) -> list[Street]:
    """Every street by name, each with its communities."""
    from sqlalchemy import select

    return list(session.scalars(select(Street).order_by(Street.name)))
