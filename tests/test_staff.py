"""Creating staff accounts (domain service)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import AuditLog
from carbon_credit.staff.accounts import create_staff

from .factories import FIXED_NOW, STAFF_PASSWORD, fast_hash, make_community


def new_staff(session, username="zhao", role="worker", community_ids=()):
    return create_staff(session, FIXED_NOW, username=username, role=role, password=STAFF_PASSWORD,
                        hash_password=fast_hash, community_ids=community_ids)


def test_worker_is_created_in_their_communities_and_audited(session):
    community = make_community(session)
    staff = new_staff(session, community_ids=[community.id])
    assert staff.community_ids == [community.id]
    audit = session.scalar(select(AuditLog).where(AuditLog.verb == "create_staff"))
    assert (audit.actor_kind, audit.target_id) == ("system", str(staff.id))
    assert audit.detail == {"username": "zhao", "role": "worker", "community_ids": [community.id]}


def test_worker_without_community_is_refused(session):
    with pytest.raises(InvalidInput) as raised:
        new_staff(session)
    assert "communities" in raised.value.errors


def test_unknown_role_is_refused(session):
    with pytest.raises(InvalidInput) as raised:
        new_staff(session, role="mayor")
    assert "role" in raised.value.errors


def test_unknown_community_is_not_found(session):
    with pytest.raises(NotFound) as raised:
        new_staff(session, community_ids=[999])
    assert raised.value.code == "community_not_found"


def test_taken_username_is_a_conflict_and_the_transaction_goes_on(session):
    new_staff(session, username="qian", role="admin")
    with pytest.raises(Conflict) as raised:
        new_staff(session, username="qian", role="admin")
    assert raised.value.code == "username_taken"
    assert new_staff(session, username="sun", role="admin").id is not None
