"""Budgets under concurrent credits on PostgreSQL: the documented overshoot bound, exact counters."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from carbon_credit.budgets.admin import create_budget
from carbon_credit.models import BudgetCounter, Credit

from .factories import FIXED_NOW, make_resident
from .test_budgets import JUNE, admin, ride  # noqa: F401  (fixture and helper)

pytestmark = pytest.mark.pg_only


def test_concurrent_credits_overshoot_by_at_most_one_credit_each_and_counters_stay_exact(session, engine, admin):
    budget = create_budget(session, FIXED_NOW, actor_id=admin.id, month=JUNE, points_limit=100, mode="stop")
    residents = [make_resident(session) for _ in range(8)]
    session.commit()
    make_session = sessionmaker(engine)
    barrier = threading.Barrier(len(residents))

    def credit(resident_id):
        with make_session() as own:
            resident = own.get(type(residents[0]), resident_id)
            barrier.wait()
            ride(own, resident)
            own.commit()

    threads = [threading.Thread(target=credit, args=(r.id,)) for r in residents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    paid = session.execute(select(func.sum(Credit.points))).scalar_one()
    counted = session.execute(select(func.sum(BudgetCounter.points))
                              .where(BudgetCounter.budget_id == budget.id)).scalar_one()
    assert session.execute(select(func.count(Credit.id))).scalar_one() == 8
    assert counted == paid  # every point paid is counted, none twice
    assert 100 <= paid <= 100 + (len(residents) - 1) * 80  # the documented bound
    assert ride(session, make_resident(session)).points == 0  # once committed, exhausted is exhausted
