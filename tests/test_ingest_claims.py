"""Trips of cards nobody had bound: kept without the card number, claimed on binding within the window."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.models import Account, GreenAction
from carbon_credit.models.cards import UnmatchedTrip
from carbon_credit.residents.cards import card_hash

from .factories import make_resident
from .ingest_helpers import (
    CLAIM_WINDOW,
    DAY,
    KEY,
    NOW,
    balance_of,
    credits_of,
    expected_grams,
    ingest,
    setup_rules,
    trip,
    write_file,
)

CARD = "310000000777"


def _unmatched(session) -> list:
    session.rollback()
    return list(session.execute(select(UnmatchedTrip).order_by(UnmatchedTrip.id)).scalars())


def test_unknown_card_trips_are_kept_by_hash_and_counted(session, tmp_path):
    setup_rules(session)
    summary = ingest(session, write_file(tmp_path, [trip("u1", CARD, "bus", 8, distance="2.5")]))
    assert (summary.unknown_cards, summary.credited) == (1, 0)
    kept = _unmatched(session)
    assert [t.card_hash for t in kept] == [card_hash(CARD, KEY)]
    assert CARD not in str([(t.card_hash, t.attributes, t.external_id) for t in kept])


def test_binding_claims_trips_within_the_window_and_not_older(session, tmp_path):
    setup_rules(session)
    old_day = DAY - timedelta(days=9)
    rows = [trip("u-old", CARD, "bus", 8, day=old_day), trip("u1", CARD, "bus", 8, distance="2.5"),
            trip("u2", CARD, "metro", 9)]
    path = write_file(tmp_path, rows)
    ingest(session, path)
    resident = make_resident(session)
    result = bind_card(session, resident.id, CARD, NOW + timedelta(hours=1), key=KEY, claim_window=CLAIM_WINDOW)
    session.commit()
    assert result.claimed_trips == 2
    assert result.claimed_points == expected_grams(session, "bus_ride", "km", "2.5") + expected_grams(
        session, "metro_ride", "trip", 1)
    assert balance_of(session, resident) == result.claimed_points
    actions = {a.external_id: a.attributes for a in session.execute(select(GreenAction)).scalars()}
    assert actions == {"u1": {"mode": "bus", "ride_s": 1200, "claimed": True},  # boarded 8:00, alighted 8:20
                       "u2": {"mode": "metro", "ride_s": 1200, "claimed": True}}
    claimed = {t.external_id: t.claimed_by for t in _unmatched(session)}
    assert claimed == {"u-old": None, "u1": resident.id, "u2": resident.id}
    # The same file again: every trip is a duplicate, nothing is credited twice.
    again = ingest(session, path, now=NOW + timedelta(hours=2))
    assert (again.credited, again.duplicates) == (0, 3)
    assert len(credits_of(session, resident)) == 2
    account_id = session.execute(select(Account.id).where(Account.resident_id == resident.id)).scalar_one()
    assert ledger_is_consistent(session, account_id)


def test_claimed_trips_respect_the_caps_of_their_day(session, tmp_path):
    setup_rules(session)
    rows = [trip(f"u{i}", CARD, "bus", 7 + i) for i in range(6)]
    ingest(session, write_file(tmp_path, rows))
    resident = make_resident(session)
    result = bind_card(session, resident.id, CARD, NOW + timedelta(hours=1), key=KEY, claim_window=CLAIM_WINDOW)
    session.commit()
    statuses = [c.status for c in sorted(credits_of(session, resident), key=lambda c: c.action.occurred_at)]
    assert result.claimed_trips == 6 and statuses.count("credited") == 4 and statuses.count("capped") == 2


def test_a_bound_card_is_matched_and_a_card_unbound_again_is_not(session, tmp_path):
    from carbon_credit.residents.cards import unbind_card

    setup_rules(session)
    resident = make_resident(session)
    card = bind_card(session, resident.id, CARD, NOW - timedelta(days=3), key=KEY, claim_window=CLAIM_WINDOW).card
    session.commit()
    assert ingest(session, write_file(tmp_path, [trip("m1", CARD, "bus", 8)])).credited == 1
    unbind_card(session, resident.id, card.id, NOW)
    session.commit()
    later = ingest(session, write_file(tmp_path, [trip("m2", CARD, "bus", 9)], name="b.csv"))
    assert (later.credited, later.unknown_cards) == (0, 1)
