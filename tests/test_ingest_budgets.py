"""Monthly points budgets apply to bulk-ingested trips of the types they cover, and only to those."""
from __future__ import annotations

from datetime import date

from carbon_credit.budgets.admin import create_budget
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.rules.explain import explain_credit

from .factories import make_staff
from .ingest_helpers import NOW, balance_of, credits_of, ingest, resident_with_card, setup_rules, trip, write_file

CARD_A, CARD_B = "310000000001", "310000000002"


def test_a_metro_budget_stops_metro_points_and_leaves_bus_trips_alone(session, tmp_path):
    setup_rules(session)
    admin = make_staff(session, "ingest-budget-admin", "admin")
    create_budget(session, NOW, actor_id=admin.id, month=date(2026, 6, 1), points_limit=1, mode="stop",
                  action_type="metro_ride")
    session.commit()
    first, second = resident_with_card(session, CARD_A), resident_with_card(session, CARD_B)
    ingest(session, write_file(tmp_path, [trip("b1", CARD_A, "bus", 7), trip("m1", CARD_A, "metro", 8),
                                          trip("b2", CARD_B, "bus", 7), trip("m2", CARD_B, "metro", 9)]))
    credits = credits_of(session, first) + credits_of(session, second)
    metro = [c for c in credits if c.action_type == "metro_ride"]
    bus = [c for c in credits if c.action_type == "bus_ride"]
    assert sum(c.points for c in metro) == 1
    assert all("budget" in c.trace and c.trace["points"] == c.points for c in metro)
    assert all("budget" not in c.trace and c.points == c.grams > 0 for c in bus)
    assert balance_of(session, first) + balance_of(session, second) == sum(c.points for c in credits)
    for resident in (first, second):
        assert ledger_is_consistent(session, resident.account.id)
    # Both kinds of credit explain themselves from their stored trace: caps with what was used before.
    for credit, trips_before in ((bus[0], "0"), (metro[0], "1")):
        steps = explain_credit(credit, credit.action_type)["steps"]
        assert [s["used"] for s in steps if s["step"] == "cap" and s["metric"] == "count"] == [trips_before]
        assert [s["points"] for s in steps if s["step"] == "result"] == [credit.points]
