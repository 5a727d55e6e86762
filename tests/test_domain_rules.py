"""The rules engine and action recording, without a Flask app."""
from __future__ import annotations

from datetime import timedelta

import pytest

from carbon_credit import errors
from carbon_credit.ledger.points import balance_summary, earn_lot_mismatches, ledger_is_consistent
from carbon_credit.models import Credit, GreenAction, LedgerEntry
from carbon_credit.rules.versions import activate_rule_set, create_draft, update_caps, update_rule

from .domain_helpers import act, install_rules
from .factories import FIXED_NOW, make_resident


@pytest.fixture
def resident(session):
    install_rules(session)
    return make_resident(session)


def _count(session, model):
    return session.query(model).count()


def test_metro_ride_with_distance_is_credited_per_km_with_its_source(session, resident):
    result = act(session, resident, "metro_ride", "12.5", "km")
    credit = result.credit
    assert (credit.status, credit.grams, credit.points) == ("credited", 585, 585)
    assert credit.trace["factor"]["grams_per_unit"] == "46.8"
    assert "深圳" in credit.trace["factor"]["source"]
    assert credit.rule_version == 1


def test_ride_without_distance_uses_the_per_trip_factor(session, resident):
    credit = act(session, resident, "bus_ride", "1", "trip").credit
    assert (credit.grams, credit.points) == (80, 80)
    assert credit.trace["factor"]["unit"] == "trip"


def test_self_declared_evidence_counts_half_and_rounds_down(session, resident):
    credit = act(session, resident, "bike_ride", "3.3", "km", evidence="self", source="self_report").credit
    # 3.3 km × 40 g × 0.5 = 66 g
    assert (credit.grams, credit.points) == (66, 66)
    credit = act(session, resident, "walk_steps", "1234", "step", evidence="self", source="self_report").credit
    # 1234 × 0.02 × 0.5 = 12.34 → 12
    assert (credit.grams, credit.points) == (12, 12)


def test_points_only_behaviour_claims_no_carbon(session, resident):
    credit = act(session, resident, "recyclables_dropoff", "2.5", "kg", source="station_device").credit
    assert (credit.grams, credit.points) == (0, 25)
    assert credit.trace["points_only"]["grams_claimed"] == "0"


def test_fifth_transit_ride_of_a_shanghai_day_is_capped_and_names_the_cap(session, resident):
    results = [act(session, resident, "bus_ride", "1", "trip") for _ in range(5)]
    assert [r.credit.status for r in results] == ["credited"] * 4 + ["capped"]
    last = results[-1].credit
    assert (last.points, last.grams) == (0, 0)
    assert results[-1].action.status == "capped"
    assert any(c["name"] == "transit_rides_daily" and c["effect"] == "capped" for c in last.trace["caps"])
    lot = session.query(LedgerEntry).filter_by(kind="earn").one()  # the capped ride added nothing to it
    assert lot.points == sum(r.credit.points for r in results[:4]) and earn_lot_mismatches(session) == {}


def test_daily_caps_reset_at_shanghai_midnight_not_utc(session, resident):
    # 23:30 Shanghai on June 4 is 15:30 UTC; 00:30 Shanghai June 5 is 16:30 UTC the same UTC day.
    late = FIXED_NOW.replace(hour=15, minute=30) - timedelta(days=1)
    for i in range(4):
        act(session, resident, "bus_ride", "1", "trip", at=late + timedelta(minutes=i))
    after_midnight = act(session, resident, "bus_ride", "1", "trip", at=late + timedelta(hours=1))
    assert after_midnight.credit.status == "credited"


def test_walking_is_clipped_at_the_daily_gram_cap(session, resident):
    first = act(session, resident, "walk_steps", "12000", "step", source="worker", evidence="worker").credit
    second = act(session, resident, "walk_steps", "10000", "step", source="worker", evidence="worker").credit
    assert first.grams == 240
    assert second.grams == 56  # 296 − 240
    assert second.trace["caps"][0]["effect"] == "clipped"


def test_total_daily_points_cap_stops_at_2000(session, resident):
    credits = [act(session, resident, "textiles_dropoff", "1", "kg", source="worker", evidence="worker").credit
               for _ in range(3)]
    assert [c.points for c in credits] == [1280, 720, 0]
    assert credits[2].status == "capped"


def test_same_external_id_is_recorded_once(session, resident):
    first = act(session, resident, key="trip-1")
    again = act(session, resident, key="trip-1")
    assert first.created and not again.created
    assert again.action.id == first.action.id
    assert _count(session, Credit) == 1
    assert balance_summary(session, resident.id, FIXED_NOW).points == first.credit.points


def test_reused_key_with_a_different_request_is_refused(session, resident):
    act(session, resident, key="k", request_hash="a" * 64)
    with pytest.raises(errors.IdempotencyKeyReused):
        act(session, resident, key="k", request_hash="b" * 64)


@pytest.mark.parametrize("kwargs, error", [
    (dict(action_type="teleport"), errors.UnknownActionType),
    (dict(quantity="-3"), errors.QuantityOutOfRange),
    (dict(quantity="0"), errors.QuantityOutOfRange),
    (dict(quantity="5000"), errors.QuantityOutOfRange),
    (dict(quantity="NaN"), errors.QuantityOutOfRange),
    (dict(unit="kg"), errors.InvalidInput),
    (dict(at=FIXED_NOW + timedelta(hours=2)), errors.FutureTime),
])
def test_bad_actions_are_refused_and_write_nothing(session, resident, kwargs, error):
    with pytest.raises(error):
        act(session, resident, **kwargs)
    assert _count(session, GreenAction) == 0 and _count(session, LedgerEntry) == 0


def test_a_new_version_never_alters_past_credits(session, resident):
    old = act(session, resident, "metro_ride", "10", "km").credit
    draft = create_draft(session, FIXED_NOW)
    factors = [dict(f) for f in draft.rule_for("metro_ride").factors]
    factors[0].update(grams_per_unit="60", source="某市 2026 地铁因子 60 g/km")
    update_rule(session, draft, "metro_ride", {"factors": factors}, FIXED_NOW)
    activate_rule_set(session, draft, FIXED_NOW, FIXED_NOW)
    later = FIXED_NOW + timedelta(hours=3)
    new = act(session, resident, "metro_ride", "10", "km", now=later).credit
    session.refresh(old)
    assert (old.points, old.rule_version, old.trace["factor"]["grams_per_unit"]) == (468, 1, "46.8")
    assert (new.points, new.rule_version, new.trace["factor"]["grams_per_unit"]) == (600, 2, "60")


def test_activated_version_is_frozen(session, resident):
    draft = create_draft(session, FIXED_NOW)
    activate_rule_set(session, draft, FIXED_NOW, FIXED_NOW)
    with pytest.raises(errors.RuleSetFrozen):
        update_rule(session, draft, "metro_ride", {"points_per_gram": "2"}, FIXED_NOW)
    with pytest.raises(errors.RuleSetFrozen):
        update_caps(session, draft, [], FIXED_NOW)


def test_activation_refuses_the_past_and_invalid_drafts(session, resident):
    draft = create_draft(session, FIXED_NOW)
    with pytest.raises(errors.InvalidInput):
        activate_rule_set(session, draft, FIXED_NOW - timedelta(days=1), FIXED_NOW)
    with pytest.raises(errors.RuleSetInvalid):
        update_rule(session, draft, "metro_ride", {"factors": [{"unit": "km", "grams_per_unit": "-1", "source": ""}]},
                    FIXED_NOW)


def test_appliance_waits_for_review_then_credits_points_only_without_a_baseline(session, resident):
    from carbon_credit.actions.record import review_action

    from .factories import make_staff

    reviewer = make_staff(session, "rev", "admin")
    pending = act(session, resident, "appliance_purchase", "1", "item", evidence="self", source="self_report",
                  attributes={"category": "refrigerator", "label_kwh": 250})
    assert pending.action.status == "pending_review" and pending.credit is None
    assert balance_summary(session, resident.id, FIXED_NOW).points == 0
    result = review_action(session, pending.action.id, True, FIXED_NOW, reviewer_id=reviewer.id)
    assert (result.credit.points, result.credit.grams) == (500, 0)


def test_appliance_with_a_baseline_uses_the_kwh_method(session, resident):
    draft = create_draft(session, FIXED_NOW)
    params = dict(draft.rule_for("appliance_purchase").params)
    params["baseline_kwh"] = {"refrigerator": 400}
    update_rule(session, draft, "appliance_purchase", {"params": params}, FIXED_NOW)
    activate_rule_set(session, draft, FIXED_NOW, FIXED_NOW)
    credit = act(session, resident, "appliance_purchase", "1", "item", evidence="worker", source="worker",
                 at=FIXED_NOW + timedelta(minutes=1), now=FIXED_NOW + timedelta(minutes=2),
                 attributes={"category": "refrigerator", "label_kwh": 250}).credit
    # (400 − 250) kWh × 636.1 g/kWh = 95,415 g and as many points; the 2,000 points daily cap lets
    # 2,000 of them through, so the credit reports the same share of its grams (METHODOLOGY, caps).
    assert credit.points == 2000
    assert credit.grams == 2000, credit.trace
    assert credit.trace["points_cap_grams"] == {"carbon_points": "95415", "points_let_through": "2000",
                                                "grams_before": 95415, "grams_after": 2000}
    assert credit.trace["appliance"]["baseline_kwh"] == "400"


def test_ledger_stays_consistent_after_many_credits(session, resident):
    for i in range(10):
        act(session, resident, "walk_steps", "1000", "step", at=FIXED_NOW - timedelta(days=i, hours=1),
            evidence="self", source="self_report")
    assert ledger_is_consistent(session, resident.account.id)
    assert balance_summary(session, resident.id, FIXED_NOW).points == 100
