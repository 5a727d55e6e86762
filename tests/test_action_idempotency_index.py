"""An action's idempotency key (scope, external id): recorded once, found again through its unique index.

PostgreSQL indexes the key's 16-byte digest, SQLite the two texts; both refuse a
second action with the same key and tell keys apart that only run together.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from carbon_credit.ingest.writers import writer_for
from carbon_credit.models import GreenAction, idem_digest, idem_key_is, idem_keys_in
from carbon_credit.models.actions import idem_digest_sql

from .domain_helpers import act, install_rules
from .factories import make_resident


@pytest.fixture
def resident(session):
    install_rules(session)
    person = make_resident(session, "o-idem")
    session.commit()
    return person


def _action_row(resident_id: int, scope: str, external_id: str) -> dict:
    at = datetime(2026, 6, 1, 8, tzinfo=timezone.utc)
    return dict(resident_id=resident_id, occurred_at=at, created_at=at, action_type="metro_ride", quantity=1,
                unit="km", source="partner_feed", evidence="partner", status="credited", idem_scope=scope,
                external_id=external_id, attributes={}, review_note="")


def test_keys_that_only_run_together_are_different_actions(session, resident):
    first = act(session, resident, scope="ab", key="c")
    second = act(session, resident, scope="a", key="bc")
    again = act(session, resident, scope="ab", key="c")
    session.commit()
    assert first.created and second.created and not again.created
    assert again.action.id == first.action.id != second.action.id
    dialect = session.get_bind().dialect.name
    found = session.execute(select(GreenAction.id).where(idem_key_is(dialect, "a", "bc"))).scalar_one()
    assert found == second.action.id
    both = session.execute(select(GreenAction.idem_scope, GreenAction.external_id).where(
        idem_keys_in(dialect, [("ab", "c"), ("a", "bc"), ("a", "b")]))).all()
    assert sorted(both) == [("a", "bc"), ("ab", "c")]


def test_the_database_refuses_a_second_action_with_the_same_key(session, resident):
    session.execute(insert(GreenAction).values(**_action_row(resident.id, "partner:9", "碳-1")))
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(insert(GreenAction).values(**_action_row(resident.id, "partner:9", "碳-1")))
    session.rollback()
    session.execute(insert(GreenAction).values(**_action_row(resident.id, "partner:9", "碳-2")))
    session.commit()
    assert session.execute(select(func.count()).select_from(GreenAction)).scalar() == 2


@pytest.mark.pg_only
def test_postgresql_computes_the_same_digest_and_finds_keys_through_its_index(session, resident):
    pairs = [("transit", "T20261205-000125203"), ("碳普惠", "é:1"), ("resident:7", "")]
    for scope, external_id in pairs:
        computed = session.execute(select(idem_digest_sql(func.cast(scope, GreenAction.idem_scope.type),
                                                          func.cast(external_id, GreenAction.external_id.type))))
        assert computed.scalar_one() == idem_digest(scope, external_id)
    session.execute(text("SET LOCAL enable_seqscan = off"))
    for condition in (idem_key_is("postgresql", "transit", "T1"), idem_keys_in("postgresql", [("transit", "T1")])):
        compiled = select(GreenAction.id).where(condition).compile(dialect=session.get_bind().dialect,
                                                                   compile_kwargs={"render_postcompile": True})
        plan = "\n".join(session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        assert "uq_green_actions_idem_digest" in plan


def test_the_ingest_writer_knows_the_trips_already_stored(session, resident):
    for trip_id in ("T1", "T2"):
        session.execute(insert(GreenAction).values(**_action_row(resident.id, "transit", trip_id)))
    session.execute(insert(GreenAction).values(**_action_row(resident.id, "other", "T3")))
    session.commit()
    writer = writer_for(session)
    assert writer.known_ids("transit", ["T1", "T3", "T4", "T2"]) == {"T1", "T2"}
