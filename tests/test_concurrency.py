"""Real concurrent writers on PostgreSQL: the guarantees that unique constraints and
row locks give, which a single connection cannot show."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from carbon_credit import errors
from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.db import SessionWriter
from carbon_credit.ledger.points import (EarnLot, add_earn_lots, balance_summary, earn_lot_mismatches,
                                         ledger_is_consistent, lock_account, take_points)
from carbon_credit.models import Credit, GreenAction, LedgerEntry, Resident
from carbon_credit.rules.versions import activate_rule_set, create_draft, update_rule

from .domain_helpers import act, install_rules
from .factories import FIXED_NOW, make_resident

pytestmark = pytest.mark.pg_only


@pytest.fixture
def resident_id(session):
    install_rules(session)
    resident = make_resident(session)
    session.commit()
    return resident.id


def _run_parallel(engine, fn, count):
    """Run ``fn(session, i)`` in ``count`` threads, each with its own connection and transaction."""
    factory = sessionmaker(engine)

    def one(i):
        with factory() as session:
            try:
                result = fn(session, i)
                session.commit()
                return result
            except errors.DomainError as exc:
                session.rollback()
                return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _ride(resident_id, key, quantity="1", unit="trip", action_type="bus_ride", at=FIXED_NOW - timedelta(hours=1)):
    return ActionInput(resident_id=resident_id, action_type=action_type, quantity=Decimal(quantity), unit=unit,
                       occurred_at=at, source="self_report", evidence="self",
                       idem_scope=f"resident:{resident_id}", external_id=key, request_hash="same-body")


def test_fifty_concurrent_identical_submissions_credit_once(engine, session, resident_id):
    results = _run_parallel(engine, lambda s, i: record_action(s, _ride(resident_id, "same-key"), FIXED_NOW).created,
                            50)
    assert results.count(True) == 1 and results.count(False) == 49
    assert session.scalar(select(func.count(GreenAction.id))) == 1
    assert session.scalar(select(func.count(Credit.id))) == 1
    assert balance_summary(session, resident_id, FIXED_NOW).points == 40


def test_concurrent_submissions_never_pass_the_daily_cap(engine, session, resident_id):
    _run_parallel(engine, lambda s, i: record_action(s, _ride(resident_id, f"ride-{i}"), FIXED_NOW), 20)
    statuses = session.execute(select(Credit.status, func.count()).group_by(Credit.status)).all()
    assert dict(statuses) == {"credited": 4, "capped": 16}
    assert balance_summary(session, resident_id, FIXED_NOW).points == 4 * 40


def test_concurrent_spends_never_take_a_balance_below_zero(engine, session, resident_id):
    for i in range(3):
        act(session, session.get(Resident, resident_id),
            "bus_ride", "1", "trip")
    session.commit()  # 240 points

    def spend(s, i):
        account = lock_account(s, resident_id)
        return take_points(s, account, FIXED_NOW, kind="spend", points=50, reference=f"redemption:{i}").points

    results = _run_parallel(engine, spend, 30)
    assert sum(1 for r in results if r == -50) == 4
    assert all(isinstance(r, errors.InsufficientPoints) for r in results if r != -50)
    session.expire_all()
    assert balance_summary(session, resident_id, FIXED_NOW).points == 40
    account_id = session.scalar(select(LedgerEntry.account_id).limit(1))
    assert ledger_is_consistent(session, account_id)


def test_two_credits_of_one_resident_in_parallel_both_land_in_the_one_earn_lot(engine, session, resident_id):
    _run_parallel(engine, lambda s, i: record_action(s, _ride(resident_id, f"lot-{i}"), FIXED_NOW), 2)
    rides = session.scalars(select(Credit)).all()
    assert [r.status for r in rides] == ["credited", "credited"]
    lot = session.execute(select(LedgerEntry).where(LedgerEntry.kind == "earn")).scalar_one()
    assert (lot.points, lot.remaining) == (sum(r.points for r in rides),) * 2
    assert balance_summary(session, resident_id, FIXED_NOW).points == lot.points
    assert earn_lot_mismatches(session) == {} and ledger_is_consistent(session, lot.account_id)


def test_parallel_upserts_of_a_new_lot_make_one_row_without_any_lock(engine, session, resident_id):
    """The set-based path's upsert alone: both writers try to create the lot at once; the unique index makes
    one of them add to the row the other made (accounts are locked by the callers, but the lot does not rely on it)."""
    account_id = lock_account(session, resident_id).id
    session.rollback()
    meet = threading.Barrier(2)

    def earn(s, i):
        s.execute(select(1))  # a transaction of its own before both write
        meet.wait(timeout=10)
        add_earn_lots(SessionWriter(s), [EarnLot(account_id, 10 + i, 3)], FIXED_NOW)

    _run_parallel(engine, earn, 2)
    lots = session.execute(select(LedgerEntry).where(LedgerEntry.kind == "earn")).scalars().all()
    assert [(lot.points, lot.grams, lot.remaining) for lot in lots] == [(21, 6, 21)]


def test_a_rule_change_never_alters_past_credits(engine, session, resident_id):
    resident = session.get(Resident, resident_id)
    before = act(session, resident, "metro_ride", "10", "km").credit
    session.commit()
    snapshot = (before.id, before.points, before.grams, dict(before.trace))
    draft = create_draft(session, FIXED_NOW)
    factors = [dict(f, grams_per_unit="99", source="某市 2026 地铁因子 99 g/km") if f["unit"] == "km" else f
               for f in draft.rule_for("metro_ride").factors]
    update_rule(session, draft, "metro_ride", {"factors": factors}, FIXED_NOW)
    activate_rule_set(session, draft, FIXED_NOW, FIXED_NOW)
    session.commit()
    later = FIXED_NOW + timedelta(hours=2)
    results = _run_parallel(engine, lambda s, i: record_action(
        s, _ride(resident_id, f"m{i}", "10", "km", "metro_ride", at=later - timedelta(minutes=5)), later).credit.points, 3)
    assert results == [495, 495, 495]  # 10 km × 99 g × 0.5 self-declared
    session.expire_all()
    after = session.get(Credit, snapshot[0])
    assert (after.id, after.points, after.grams, after.trace) == snapshot
