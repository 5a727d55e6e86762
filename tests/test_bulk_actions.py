"""Recording in bulk gives what recording the same inputs one at a time gives: actions, credits, caps,
campaign bonuses, budgets, ledger lots and balances."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import create_budget
from carbon_credit.budgets.limits import issued_against, month_of
from carbon_credit.actions.bulk import record_actions_in_bulk
from carbon_credit.errors import DomainError
from carbon_credit.ledger.points import earn_lot_mismatches, ledger_is_consistent
from carbon_credit.models import (Account, Budget, CampaignEnrolment, Credit, GreenAction, LedgerEntry)
from carbon_credit.reporting.daily_stats import compute_daily_stats
from carbon_credit.timeutil import local_date, start_of_local_day

from .campaign_support import install_rules, running_campaign
from .factories import FIXED_NOW, make_community, make_resident

DAYS = 12  # across the end of May: a budget of June only


def _plan(rng: random.Random, resident_id: int, tag: str) -> list:
    """A resident's inputs over the days, each recorded half an hour later (at most at FIXED_NOW): caps are
    reached, a bonus is won, a few inputs are bad."""
    items = []
    for offset in range(DAYS, -1, -1):
        day = FIXED_NOW - timedelta(days=offset)
        todo = [("metro_ride", str(rng.choice([3.5, 8, 12.4])), "km", "partner") for _ in range(rng.randrange(2, 6))]
        todo += [("bus_ride", "1", "trip", "partner"), ("walk_steps", str(rng.randrange(6000, 18000)), "step", "self")]
        todo += [("walk_steps", "12000", "step", "self")] if rng.random() < 0.5 else []
        todo += [("kitchen_waste_sorting", "1", "drop", "partner")] * rng.randrange(0, 4)
        todo += [("recyclables_dropoff", str(rng.choice([0.5, 2, 3.3])), "kg", "partner")] if rng.random() < 0.6 else []
        todo += [("appliance_purchase", "1", "item", "self")] if rng.random() < 0.1 else []
        todo += [("textiles_dropoff", "2", "kg", "worker")] if rng.random() < 0.2 else []
        rng.shuffle(todo)
        for seq, (code, qty, unit, evidence) in enumerate(todo):
            at = day - timedelta(minutes=rng.randrange(30, 14 * 60))
            items.append((code, qty, unit, evidence, at, f"{tag}-{offset}-{seq}"))
    bad_day = FIXED_NOW - timedelta(days=2)
    items += [("no_such_type", "1", "km", "partner", bad_day, f"{tag}-bad-1"),
              ("metro_ride", "2", "kg", "partner", bad_day, f"{tag}-bad-2"),
              ("metro_ride", "0", "km", "partner", bad_day, f"{tag}-bad-3"),
              ("metro_ride", "500", "km", "partner", bad_day, f"{tag}-bad-4"),
              ("metro_ride", "5", "km", "partner", FIXED_NOW + timedelta(days=1), f"{tag}-bad-5"),
              ("metro_ride", "5", "km", "partner", bad_day, f"{tag}-0-0")]  # a key already used: a duplicate
    return [(ActionInput(resident_id=resident_id, action_type=code, quantity=Decimal(qty), unit=unit, occurred_at=at,
                         source="partner_feed" if evidence == "partner" else "self_report", evidence=evidence,
                         idem_scope="test", external_id=key), min(at + timedelta(minutes=30), FIXED_NOW))
            for code, qty, unit, evidence, at, key in items]


def _one_at_a_time(session, items) -> tuple[int, int]:
    refused = duplicates = 0
    for inp, now in items:
        try:
            if not record_action(session, inp, now).created:
                duplicates += 1
        except DomainError:
            refused += 1
    return refused, duplicates


def _figures(trace: dict) -> dict:
    """The trace with the caps' used amounts as numbers (a database writes an empty sum as 0 or 0.000), and
    without what the shared budget had issued before (the other half of the test counts there too)."""
    figures = {**trace, "caps": [{**cap, "used_before": Decimal(cap["used_before"])} for cap in trace["caps"]]}
    if "budget" in trace:
        figures["budget"] = {**trace["budget"], "applied": [{k: v for k, v in step.items() if k != "issued_before"}
                                                            for step in trace["budget"]["applied"]]}
    return figures


def _recorded(session, resident_id: int) -> dict:
    """Everything a resident's recording left, without row ids."""
    actions = session.scalars(select(GreenAction).where(GreenAction.resident_id == resident_id)
                              .order_by(GreenAction.id)).all()
    position = {a.id: i for i, a in enumerate(actions)}
    credits = session.scalars(select(Credit).where(Credit.resident_id == resident_id).order_by(Credit.id)).all()
    account = session.scalars(select(Account).where(Account.resident_id == resident_id)).one()
    lots = session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                           .order_by(LedgerEntry.id)).all()
    enrolments = session.scalars(select(CampaignEnrolment).where(CampaignEnrolment.resident_id == resident_id)).all()
    return {
        "actions": [(a.action_type, a.quantity, a.unit, a.status, a.occurred_at, a.created_at, a.evidence,
                     a.external_id.split("-", 1)[1]) for a in actions],
        "credits": [(position[c.id], c.status, c.grams, c.points, c.cap_tag, c.local_day, c.rule_version,
                     c.quantity, _figures(c.trace), c.created_at) for c in credits],
        "lots": [(lot.kind, lot.points, lot.grams, lot.remaining, lot.expires_at, lot.reason, lot.created_at)
                 for lot in lots],
        "account": (account.balance, account.earned_total, account.grams_total),
        "enrolments": [(e.campaign_id, e.via, e.first_bonus_claimed_at is not None,
                        position.get(e.first_bonus_action_id)) for e in enrolments],
    }


def test_bulk_recording_equals_recording_one_at_a_time(session):
    install_rules(session)
    home, other = make_community(session), make_community(session)
    running_campaign(session, [home], first_action_bonus=50)  # recyclables ×2 and 50 for the first
    budget = create_budget(session, FIXED_NOW, actor_id=None, month=month_of(FIXED_NOW), points_limit=10_000_000,
                           mode="scale", scale_factor=Decimal("0.5"))
    pairs = [(make_resident(session, community=c), make_resident(session, community=c))
             for c in (home, home, other, home, other)]
    blocked = make_resident(session, community=home)
    blocked.status = "blocked"
    session.flush()
    rng = random.Random(7)
    plans = [_plan(random.Random(rng.random()), a.id, f"a{i}") for i, (a, _) in enumerate(pairs)]
    single = [item for plan in plans for item in plan]
    twin = {a.id: b.id for a, b in pairs}
    bulk = [(ActionInput(**{**vars(inp), "resident_id": twin[inp.resident_id],
                            "external_id": "b" + inp.external_id[1:]}), now) for inp, now in single]
    single.append((ActionInput(resident_id=blocked.id, action_type="metro_ride", quantity=Decimal(5), unit="km",
                               occurred_at=FIXED_NOW, source="partner_feed", evidence="partner", idem_scope="test",
                               external_id="a-blocked"), FIXED_NOW))
    bulk.append((ActionInput(**{**vars(single[-1][0]), "external_id": "b-blocked"}), FIXED_NOW))

    refused, duplicates = _one_at_a_time(session, single)
    result = record_actions_in_bulk(session, bulk, batch_size=150)  # several batches, and a month's end
    session.commit()

    assert (result.refused, result.duplicates) == (refused, duplicates) == (6 * len(pairs) + 1 - len(pairs),
                                                                            len(pairs))
    assert result.refusals["resident_inactive"] == 1 and result.refusals["future_time"] == len(pairs)
    for a, b in pairs:
        assert _recorded(session, a.id) == _recorded(session, b.id)
    mine = [_recorded(session, b.id) for _, b in pairs]
    statuses = {c[1] for r in mine for c in r["credits"]}
    assert statuses == {"credited", "capped"}  # the caps were reached
    assert any(e[2] for r in mine for e in r["enrolments"])  # a first-action bonus was won
    assert any(a[3] == "pending_review" for r in mine for a in r["actions"])  # appliances wait for review
    assert result.recorded == sum(len(r["actions"]) for r in mine)
    assert result.points == sum(r["account"][0] for r in mine)
    june = start_of_local_day(local_date(FIXED_NOW).replace(day=1))  # the budget counts what June credits
    june_points = session.scalar(select(func.sum(Credit.points)).where(Credit.created_at >= june))
    assert 0 < june_points < session.scalar(select(func.sum(Credit.points)))
    assert issued_against(session, [budget.id])[budget.id] == june_points  # both halves counted by the budget
    assert all(ledger_is_consistent(session, acc.id) for acc in session.scalars(select(Account)))
    assert earn_lot_mismatches(session) == {}  # both halves: every earn lot is its credits' sum
    assert compute_daily_stats(session, local_date(FIXED_NOW) - timedelta(days=1), FIXED_NOW) > 0
    assert session.scalar(select(func.count()).select_from(Budget)) == 1


def test_check_ins_are_refused_in_bulk(session):
    install_rules(session)
    resident = make_resident(session)
    inp = ActionInput(resident_id=resident.id, action_type="campaign_checkin", quantity=Decimal(1), unit="checkin",
                      occurred_at=FIXED_NOW, source="qr_checkin", evidence="qr", idem_scope="t", external_id="c1")
    with pytest.raises(ValueError):
        record_actions_in_bulk(session, [(inp, FIXED_NOW)])
    assert session.scalar(select(func.count()).select_from(GreenAction)) == 0
