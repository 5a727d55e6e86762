"""A card's trips are credited in time order, whatever the file's order, batch size or resume.

The daily caps bind on the day's last trips: a batch never splits a card, so
a card with more rows than ``--batch-size`` is not credited latest first when
the operator lists it so, and a run killed and resumed with another batch
size credits exactly what one uninterrupted run does.
"""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.db import Base
from carbon_credit.ingest import StopAfterBatches
from carbon_credit.ingest.trips import MODES
from carbon_credit.models import Credit, GreenAction

from .ingest_helpers import (
    DAY,
    NOW,
    at,
    balance_of,
    expected_grams,
    ingest,
    resident_with_card,
    setup_rules,
    write_file,
)

CARD = "310000000301"


def test_six_rides_listed_latest_first_with_batches_of_two_are_credited_in_time_order(session, tmp_path):
    setup_rules(session)
    resident = resident_with_card(session, CARD)
    kms = ["3", "12", "5", "15", "9", "30"]  # boarding at 07:00, 08:00, … 12:00
    rows = [[f"m{i}", CARD, "metro", at(7 + i), at(7 + i, 40), km] for i, km in enumerate(kms)]
    summary = ingest(session, write_file(tmp_path, rows[::-1]), batch_size=2)
    assert (summary.credited, summary.capped) == (4, 2)
    session.rollback()
    in_time = session.execute(select(Credit.status, GreenAction.external_id).join(GreenAction, GreenAction.id == Credit.id)
                              .order_by(GreenAction.occurred_at)).all()
    assert in_time == [("credited", "m0"), ("credited", "m1"), ("credited", "m2"), ("credited", "m3"),
                       ("capped", "m4"), ("capped", "m5")]
    assert balance_of(session, resident) == sum(expected_grams(session, "metro_ride", "km", km) for km in kms[:4])


# Four cards, two days each; modes and distances vary so that which trips the caps refuse changes the points.
def _trips(seed: int) -> list:
    rng = random.Random(seed)
    trips = []
    for card_index in range(4):
        card = f"3100000004{card_index:02d}"
        for day in (DAY - timedelta(days=1), DAY):
            for n in range(rng.randint(3, 8)):
                mode = rng.choice(list(MODES))
                km = rng.choice(["", "2", "4.5", "11", "27", "40"]) if mode != "bike" else rng.choice(["", "3"])
                hour, minute = 6 + n * 2, rng.randint(0, 59)
                trips.append((f"c{card_index}-{day.day}-{n}", card, mode, day, hour, minute, km))
    return trips


def _credited_one_at_a_time(session, trips) -> dict:
    residents = {card: resident_with_card(session, card) for card in sorted({t[1] for t in trips})}
    for trip_id, card, mode, day, hour, minute, km in sorted(trips, key=lambda t: (t[3], t[4], t[5])):
        record_action(session, ActionInput(
            resident_id=residents[card].id, action_type=MODES[mode], quantity=Decimal(km or 1),
            unit="km" if km else "trip", occurred_at=day + timedelta(hours=hour, minutes=minute),
            source="partner_feed", evidence="partner", idem_scope="transit", external_id=trip_id,
            attributes={"mode": mode}), NOW)
        session.commit()
    return _credits(session)


def _credits(session) -> dict:
    session.rollback()
    return {trip_id: (status, points, grams) for trip_id, status, points, grams in session.execute(
        select(GreenAction.external_id, Credit.status, Credit.points, Credit.grams).join(Credit, Credit.id == GreenAction.id))}


def _fresh_world(session, trips) -> None:
    session.rollback()
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    session.commit()
    setup_rules(session)
    for card in sorted({t[1] for t in trips}):
        resident_with_card(session, card)


def _file(tmp_path, trips, seed: int, name: str) -> str:
    rows = [[trip_id, card, mode, at(hour, minute, day), at(hour, minute + 30, day), km]
            for trip_id, card, mode, day, hour, minute, km in trips]
    random.Random(seed).shuffle(rows)
    return write_file(tmp_path, rows, name=name)


@pytest.mark.parametrize("seed", [1, 2])
def test_any_batch_size_and_any_resume_credit_what_time_order_credits(session, tmp_path, seed):
    trips = _trips(seed)
    setup_rules(session)
    expected = _credited_one_at_a_time(session, trips)
    assert {status for status, _p, _g in expected.values()} == {"credited", "capped"}
    for batch_size in (1, 2, 5, 20_000):
        _fresh_world(session, trips)
        ingest(session, _file(tmp_path, trips, seed, f"b{batch_size}.csv"), batch_size=batch_size)
        assert _credits(session) == expected, f"batch size {batch_size}"
    for first, second in ((2, 7), (3, 1)):
        _fresh_world(session, trips)
        path = _file(tmp_path, trips, seed, f"r{first}-{second}.csv")
        with pytest.raises(StopAfterBatches):
            ingest(session, path, batch_size=first, fail_after_batches=1)
        resumed = ingest(session, path, batch_size=second)
        assert resumed.resumed_from > 0
        assert _credits(session) == expected, f"killed at batch size {first}, resumed at {second}"
