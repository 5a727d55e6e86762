"""A points cap that lets through part of a credit's points keeps the same share of its grams.

METHODOLOGY (caps): the carbon a city reports never includes what a cap
refused; campaign bonus points are not carbon, so a cap that refuses only
bonus points leaves the grams whole. Checked on both crediting paths (one
action at a time, as a partner push records it, and the nightly file), and in
the community figures.
"""
from __future__ import annotations

from datetime import date, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.models import Account, Credit, GreenAction
from carbon_credit.reporting.figures import community_figures
from carbon_credit.rules.explain import explain_credit

from .campaign_support import plain_campaign
from .factories import make_community, make_resident
from .ingest_helpers import DAY, KEY, NOW, at, ingest, setup_rules, write_file

CARD = "310000000201"


def _resident(session, multiplier=None):
    setup_rules(session)
    home = make_community(session)
    if multiplier:
        plain_campaign(session, [home], title="全国低碳日", now=NOW, active_from=DAY.astimezone(timezone.utc), days=2,
                       multipliers={"metro_ride": multiplier}, action_types=[])
    resident = make_resident(session, community=home)
    bind_card(session, resident.id, CARD, NOW - timedelta(days=20), key=KEY, claim_window=timedelta(days=7))
    session.commit()
    return resident, home


def _credit_rides(session, tmp_path, resident, path, rides):
    """Metro rides (hour, km) credited one at a time (a partner push) or as a file; their credits in order."""
    if path == "one_at_a_time":
        for n, (hour, km) in enumerate(rides):
            record_action(session, ActionInput(
                resident_id=resident.id, action_type="metro_ride", quantity=Decimal(km), unit="km",
                occurred_at=DAY + timedelta(hours=hour), source="partner_feed", evidence="partner",
                idem_scope="transit", external_id=f"t{n}", attributes={"mode": "metro"}), NOW)
            session.commit()
    else:
        rows = [[f"t{n}", CARD, "metro", at(hour), at(hour, 30), km] for n, (hour, km) in enumerate(rides)]
        ingest(session, write_file(tmp_path, rows[::-1]))
    session.rollback()
    return list(session.execute(select(Credit).join(GreenAction, GreenAction.id == Credit.id)
                                .order_by(GreenAction.occurred_at)).scalars())


PATHS = ["one_at_a_time", "file"]


@pytest.mark.parametrize("path", PATHS)
def test_a_ride_the_daily_points_cap_clips_keeps_the_same_share_of_its_grams(session, tmp_path, path):
    resident, home = _resident(session)
    # 42.4 km: 1,984.32 g, 1,984 points; then 5 km: 234 g with 16 points of room left; then one more ride.
    first, clipped, full = _credit_rides(session, tmp_path, resident, path, [(7, "42.4"), (9, "5"), (18, "3")])
    assert (first.points, first.grams) == (1984, 1984)
    assert (clipped.status, clipped.points, clipped.grams) == ("credited", 16, 16)
    assert clipped.trace["points_cap_grams"] == {"carbon_points": "234", "points_let_through": "16",
                                                 "grams_before": 234, "grams_after": 16}
    assert (full.status, full.points, full.grams) == ("capped", 0, 0)
    step = next(s for s in explain_credit(clipped, "地铁出行")["steps"] if s["step"] == "cap_grams")
    assert "234" in step["text"] and "16 g" in step["text"]
    # The city's and the community's figures and the account count only the carbon that was let through.
    day = community_figures(session, home.id, date(2026, 6, 5), date(2026, 6, 6), "day")
    assert day["grams"] == sum(p["grams"] for p in day["series"]) == 2000
    assert session.execute(select(Account.grams_total).where(Account.resident_id == resident.id)).scalar_one() == 2000


@pytest.mark.parametrize("path", PATHS)
def test_a_cap_that_refuses_only_bonus_points_leaves_the_grams_whole(session, tmp_path, path):
    resident, _ = _resident(session, multiplier="1.5")
    # 30 km: 1,404 g, ×1.5 = 2,106 points, clipped to the 2,000 cap: only bonus points refused.
    (ride,) = _credit_rides(session, tmp_path, resident, path, [(8, "30")])
    assert (ride.points, ride.grams) == (2000, 1404)
    assert "points_cap_grams" not in ride.trace


@pytest.mark.parametrize("path", PATHS)
def test_a_cap_that_refuses_bonus_and_carbon_points_cuts_grams_by_the_carbon_part_only(session, tmp_path, path):
    resident, _ = _resident(session, multiplier="1.5")
    # 20 km: 936 g, 1,404 points. Then 7 km: 327.6 g, ×1.5 = 491.4 points with 596 of room: untouched.
    # Then 10 km: 468 g, ×1.5 = 702 points with 2,000 − 1,404 − 491 = 105 of room: the cap refuses all 234
    # bonus points and 363 of the 468 carbon points, so 105 points and 468 × 105 / 468 = 105 g.
    first, second, third = _credit_rides(session, tmp_path, resident, path, [(7, "20"), (8, "7"), (9, "10")])
    assert (first.points, first.grams) == (1404, 936)
    assert (second.points, second.grams) == (491, 327)
    assert (third.points, third.grams) == (105, 105)
    assert third.trace["points_cap_grams"]["grams_before"] == 468
