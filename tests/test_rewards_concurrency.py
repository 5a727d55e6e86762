"""Redemptions racing each other on PostgreSQL: real threads, one session each."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from carbon_credit.errors import DomainError
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.models import Account, LedgerEntry, Redemption
from carbon_credit.rewards.redemptions import redeem_reward

from .factories import FIXED_NOW, make_community, make_resident
from .reward_support import give_points, make_reward, stock_of

pytestmark = pytest.mark.pg_only


def race(engine, attempts):
    """Run every (resident_id, reward_id, key) at the same moment; returns outcome codes."""
    make_session = sessionmaker(engine)
    barrier = threading.Barrier(len(attempts))
    outcomes = []

    def attempt(resident_id, reward_id, key):
        with make_session() as session:
            barrier.wait()
            try:
                redeem_reward(session, resident_id, reward_id, FIXED_NOW, idempotency_key=key)
                session.commit()
                outcomes.append("ok")
            except DomainError as exc:
                session.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=args) for args in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return Counter(outcomes)


def test_two_residents_racing_for_the_last_unit_exactly_one_gets_it(session, engine):
    community = make_community(session)
    alice, bob = make_resident(session, community=community), make_resident(session, community=community)
    for resident in (alice, bob):
        give_points(session, resident, 500)
    reward = make_reward(session, points_cost=200, stock=1)
    session.commit()

    outcomes = race(engine, [(alice.id, reward.id, "a"), (bob.id, reward.id, "b")])

    assert outcomes == Counter({"ok": 1, "out_of_stock": 1})
    assert stock_of(session, reward.id) == 0
    winners = session.execute(select(Redemption.resident_id)).scalars().all()
    assert len(winners) == 1
    balances = dict(session.execute(select(Account.resident_id, Account.balance)).all())
    assert sorted(balances.values()) == [300, 500]  # the loser kept every point


def test_thirty_concurrent_redemptions_with_points_for_three_never_go_below_zero(session, engine):
    resident = make_resident(session)
    give_points(session, resident, 300)
    reward = make_reward(session, points_cost=100, stock=1000)
    session.commit()

    outcomes = race(engine, [(resident.id, reward.id, f"key-{i}") for i in range(30)])

    assert outcomes == Counter({"ok": 3, "insufficient_points": 27})
    account = session.execute(select(Account).where(Account.resident_id == resident.id)).scalar_one()
    assert account.balance == 0
    assert ledger_is_consistent(session, account.id)
    assert session.execute(select(func.min(LedgerEntry.remaining))).scalar_one() == 0
    assert stock_of(session, reward.id) == 997


def test_per_resident_limit_holds_under_concurrency(session, engine):
    resident = make_resident(session)
    give_points(session, resident, 10_000)
    reward = make_reward(session, points_cost=100, stock=1000, per_resident_limit=2)
    session.commit()

    outcomes = race(engine, [(resident.id, reward.id, f"key-{i}") for i in range(12)])

    assert outcomes == Counter({"ok": 2, "redemption_limit_reached": 10})
    assert stock_of(session, reward.id) == 998


def test_many_residents_never_oversell(session, engine):
    residents = [make_resident(session) for _ in range(16)]
    for resident in residents:
        give_points(session, resident, 100)
    reward = make_reward(session, points_cost=100, stock=5)
    session.commit()

    outcomes = race(engine, [(r.id, reward.id, "k") for r in residents])

    assert outcomes == Counter({"ok": 5, "out_of_stock": 11})
    assert stock_of(session, reward.id) == 0
    assert session.execute(select(func.count(Redemption.id))).scalar_one() == 5
