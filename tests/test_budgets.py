"""Monthly points budgets: stop and scale, the trace, the bulk seam, the month's figures."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import FORECAST_METHOD, create_budget, month_report, update_budget
from carbon_credit.budgets.limits import prepare_batch_budget
from carbon_credit.errors import Conflict, InvalidInput
from carbon_credit.models import BudgetCounter
from carbon_credit.rules import Outcome

from .campaign_support import install_rules
from .factories import FIXED_NOW, make_resident, make_staff
from .reward_support import give_points

JUNE = date(2026, 6, 1)
_ext = itertools.count(1)


def ride(session, resident, now=FIXED_NOW, action_type="bus_ride"):
    """One bus trip without a distance: 80 g CO2e, 80 points by the default rules."""
    inp = ActionInput(resident_id=resident.id, action_type=action_type, quantity=Decimal(1), unit="trip",
                      occurred_at=now - timedelta(minutes=30), source="partner_feed", evidence="partner",
                      idem_scope="transit:test", external_id=f"t-{next(_ext)}")
    return record_action(session, inp, now).credit


@pytest.fixture
def admin(session):
    install_rules(session)
    return make_staff(session, "budget-admin", "admin")


def test_stop_mode_pays_up_to_the_budget_then_nothing_but_grams_are_kept(session, admin):
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="stop")
    residents = [make_resident(session) for _ in range(3)]
    credits = [ride(session, r) for r in residents]

    assert [(c.points, c.grams) for c in credits] == [(80, 80), (20, 80), (0, 80)]
    assert [c.status for c in credits] == ["credited"] * 3
    applied = [c.trace["budget"]["applied"][0] for c in credits]
    assert [a["effect"] for a in applied] == ["within", "clipped", "stopped"]
    assert applied[2] | {"issued_before": 100, "mode": "stop", "points_before": 80, "points_after": 0} == applied[2]
    assert credits[2].trace["points"] == 0
    assert residents[2].account.grams_total == 80 and residents[2].account.balance == 0


def test_scale_mode_pays_the_factor_beyond_the_budget(session, admin):
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="scale",
                  scale_factor=Decimal("0.5"))
    credits = [ride(session, make_resident(session)) for _ in range(3)]
    # 80 in full; 20 in full + 60 × 0.5; then 80 × 0.5.
    assert [c.points for c in credits] == [80, 50, 40]
    assert credits[1].trace["budget"]["applied"][0]["effect"] == "scaled"
    assert credits[1].trace["budget"]["applied"][0]["scale_factor"] == "0.5000"


def test_a_type_budget_touches_only_its_type_and_both_count(session, admin):
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=80, mode="stop",
                  action_type="metro_ride")
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=10_000, mode="stop")
    bus = ride(session, make_resident(session))
    metro = [ride(session, make_resident(session), action_type="metro_ride") for _ in range(2)]
    assert bus.points == 80 and [m.points for m in metro] == [46, 34]
    assert [a["action_type"] for a in metro[1].trace["budget"]["applied"]] == ["metro_ride", None]
    report = month_report(session, JUNE, FIXED_NOW)
    used = {row["budget"].action_type: row["issued_points"] for row in report["budgets"]}
    assert used == {"": 160, "metro_ride": 80}


def test_budgets_of_another_month_do_not_apply(session, admin):
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=date(2026, 7, 1), points_limit=1, mode="stop")
    assert ride(session, make_resident(session)).points == 80


def test_a_budget_set_mid_month_counts_what_was_already_issued(session, admin):
    ride(session, make_resident(session))
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="stop")
    assert ride(session, make_resident(session)).points == 20


def test_bulk_batches_apply_budgets_in_memory_and_count_once(session, admin):
    budget = create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="stop")
    batch = prepare_batch_budget(session, FIXED_NOW)
    facts = type("Facts", (), {"action_type": "bus_ride"})()
    outcomes = [Outcome(status="credited", grams=80, points=80, cap_tag=None, trace={}) for _ in range(3)]
    for outcome in outcomes:
        batch(facts, outcome)
    assert [o.points for o in outcomes] == [80, 20, 0]
    assert session.execute(select(func.sum(BudgetCounter.points))
                           .where(BudgetCounter.budget_id == budget.id)).scalar_one() == 0  # nothing sent yet
    batch.flush()
    batch.flush()  # idempotent: nothing left to write
    session.commit()
    total = session.execute(select(func.sum(BudgetCounter.points)).where(BudgetCounter.budget_id == budget.id)).scalar_one()
    assert total == 100


def test_month_report_shows_issued_liability_and_a_linear_forecast(session, admin):
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=1000, mode="stop")
    ride(session, make_resident(session))
    give_points(session, make_resident(session), 500, at=FIXED_NOW - timedelta(days=400))  # 2025 lot, unexpired
    # 2026-06-05 10:00 Shanghai: 4 days and 10 hours of a 30-day month.
    report = month_report(session, JUNE, FIXED_NOW)
    fraction = (4 * 24 + 10) / (30 * 24)
    assert report["issued_points"] == 80 and report["liability_points"] == 580
    assert report["elapsed_fraction"] == round(fraction, 4)
    assert report["forecast_points"] == int(80 / fraction)
    assert report["forecast_method"] == FORECAST_METHOD
    assert report["budgets"][0]["remaining_points"] == 920 and not report["budgets"][0]["exhausted"]


@pytest.mark.parametrize("values, field", [
    (dict(points_limit=0, mode="stop"), "points_limit"),
    (dict(points_limit=100, mode="scale"), "scale_factor"),
    (dict(points_limit=100, mode="scale", scale_factor=Decimal(1)), "scale_factor"),
    (dict(points_limit=100, mode="stop", scale_factor=Decimal("0.5")), "scale_factor"),
    (dict(points_limit=100, mode="pause"), "mode"),
    (dict(points_limit=100, mode="stop", action_type="teleport"), "action_type"),
])
def test_invalid_budgets_are_refused(session, admin, values, field):
    with pytest.raises(InvalidInput) as caught:
        create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, **values)
    assert field in caught.value.errors


def test_second_budget_for_the_same_scope_conflicts_and_changes_apply(session, admin):
    budget = create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="stop")
    with pytest.raises(Conflict):
        create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=5, mode="stop")
    update_budget(session, budget.id, {"mode": "scale", "scale_factor": Decimal("0.25")}, FIXED_NOW, actor_id=admin.id)
    ride(session, make_resident(session))
    assert ride(session, make_resident(session)).points == 20 + 15
