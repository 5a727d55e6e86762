"""Streets and communities: created, renamed and moved; names clash as domain errors; every change audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import AuditLog
from carbon_credit.org.places import (
    create_community,
    create_street,
    move_community,
    rename_community,
    rename_street,
)

from .factories import FIXED_NOW


def test_a_street_and_its_community_are_created_and_audited(session):
    street = create_street(session, FIXED_NOW, name=" 大桥街道 ", district="济阳区", actor_id=None)
    community = create_community(session, FIXED_NOW, street_id=street.id, name="滨河社区")
    assert street.name == "大桥街道" and community.street_id == street.id
    verbs = session.scalars(select(AuditLog.verb).order_by(AuditLog.id)).all()
    assert verbs == ["street.create", "community.create"]


def test_a_clashing_or_empty_name_is_refused(session):
    street = create_street(session, FIXED_NOW, name="大桥街道")
    create_community(session, FIXED_NOW, street_id=street.id, name="滨河社区")
    with pytest.raises(Conflict) as taken:
        create_street(session, FIXED_NOW, name="大桥街道")
    assert taken.value.code == "street_name_taken"
    with pytest.raises(Conflict) as clash:
        create_community(session, FIXED_NOW, street_id=street.id, name="滨河社区")
    assert clash.value.code == "community_name_taken"
    with pytest.raises(InvalidInput):
        rename_street(session, FIXED_NOW, street.id, name="  ")
    with pytest.raises(NotFound):
        create_community(session, FIXED_NOW, street_id=street.id + 99, name="新社区")


def test_a_community_is_renamed_and_moved_unless_the_new_street_has_that_name(session):
    first, second = create_street(session, FIXED_NOW, name="大桥街道"), create_street(session, FIXED_NOW, name="崔寨街道")
    moving = create_community(session, FIXED_NOW, street_id=first.id, name="滨河社区")
    create_community(session, FIXED_NOW, street_id=second.id, name="鹊华社区")
    rename_community(session, FIXED_NOW, moving.id, name="鹊华社区")
    session.commit()
    with pytest.raises(Conflict):
        move_community(session, FIXED_NOW, moving.id, street_id=second.id)
    session.rollback()
    assert moving.street_id == first.id
    rename_community(session, FIXED_NOW, moving.id, name="滨河社区")
    move_community(session, FIXED_NOW, moving.id, street_id=second.id)
    assert moving.street_id == second.id
