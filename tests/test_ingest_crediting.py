"""The batch creditor's caches give exactly what the rules engine gives, trace included, byte for byte."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from carbon_credit.ingest.crediting import BatchCreditor, dump_trace
from carbon_credit.ingest.trips import Trip
from carbon_credit.rules import ActionFacts, Usage, evaluate
from carbon_credit.rules.usage import CommittedUsage, usage_key
from carbon_credit.rules.versions import compiled_in_force

from .ingest_helpers import DAY, NOW, setup_rules


@pytest.fixture
def compiled(session):
    setup_rules(session)
    return compiled_in_force(session, NOW)


def _trip(compiled, n: int, mode: str, distance) -> Trip:
    board = (DAY + timedelta(hours=8, minutes=n % 600)).astimezone(NOW.tzinfo)
    action_type = {"bus": "bus_ride", "metro": "metro_ride", "bike": "bike_ride"}[mode]
    return Trip(n, f"t{n}", "310000000001", action_type, mode, board, board + timedelta(minutes=20),
                distance, DAY.date(), compiled)


def _engine(compiled, trip, resident_id, usage) -> tuple:
    facts = ActionFacts(resident_id=resident_id, action_type=trip.action_type, quantity=trip.quantity,
                        unit=trip.unit, local_day=trip.day, evidence="partner", attributes={"mode": trip.mode})

    def used(cap, day, tag):
        return usage.by_key.get(usage_key(resident_id, cap, day, tag), Usage()).copy()

    outcome = evaluate(compiled, facts, used)
    return outcome.status, outcome.grams, outcome.points, outcome.cap_tag, dump_trace(outcome.trace)


def test_every_credit_matches_the_engine_whatever_the_caps_already_hold(compiled):
    rng = random.Random(7)
    creditor = BatchCreditor()
    distances = [None, Decimal("0.8"), Decimal("5.5"), Decimal("5.50"), Decimal("12.345"), Decimal("40")]
    points_cap = next(c for c in compiled.caps if c.metric == "points")
    for resident_id in range(1, 41):
        # Some residents start near or at the daily points cap, from credits committed earlier.
        seeded = rng.choice([0, 0, int(points_cap.limit) - rng.randint(0, 400), int(points_cap.limit)])
        if seeded:
            creditor.seed([CommittedUsage(resident_id, DAY.date(), "bus_ride", None, 1, Decimal(3), Decimal(100),
                                          Decimal(seeded))], list(compiled.caps))
        for n in range(rng.randint(1, 7)):
            trip = _trip(compiled, resident_id * 100 + n, rng.choice(["bus", "metro", "bike"]),
                         rng.choice(distances))
            expected = _engine(compiled, trip, resident_id, creditor.usage)
            got = creditor.credit(trip, resident_id)
            assert (got.status, got.grams, got.points, got.cap_tag, got.full_trace_json()) == expected
    assert any(t is not None for k, t in creditor.templates.items() if k[0] != "capped"), "common trips: template"
    assert any(t is not None for k, t in creditor.templates.items() if k[0] == "capped"), "trips over the count cap"
    assert len(creditor.memo) > 1, "trips near a binding cap went through the engine"
