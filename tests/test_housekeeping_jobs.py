"""Housekeeping jobs: nothing kept longer than it serves."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from carbon_credit.models import UnmatchedTrip
from carbon_credit.timeutil import local_date

from .factories import FIXED_NOW


def _unmatched(session, trip_id, days_ago):
    at = FIXED_NOW - timedelta(days=days_ago)
    session.add(UnmatchedTrip(source="transit", external_id=trip_id, card_hash="ab" * 32, action_type="bus_ride",
                              quantity=Decimal(1), unit="trip", occurred_at=at, local_day=local_date(at),
                              attributes={}, created_at=at))


def test_trips_of_unknown_cards_are_forgotten_once_they_can_no_longer_be_claimed(app, session, runner):
    _unmatched(session, "still-claimable", 6)
    _unmatched(session, "just-past-the-window", 7.5)
    _unmatched(session, "long-gone", 9)
    session.commit()
    result = runner.invoke(args=["scheduler", "run-job", "purge_unmatched_trips", "--now", FIXED_NOW.isoformat()])
    assert result.exit_code == 0, result.output
    session.rollback()
    kept = set(session.scalars(select(UnmatchedTrip.external_id)))
    assert kept == {"still-claimable", "just-past-the-window"}
