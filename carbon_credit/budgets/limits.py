"""Monthly points budgets: what exhausting one does to credits, and the month's figures.

A budget covers one Shanghai month, over all action types or one of them. The
month of a credit is the month it is *issued* (``now``), not when the action
happened: a budget limits what the operator pays out in that month.

When a credit would pass a budget, the part within the budget is paid in full
and the rest follows the admin's mode: "stop" pays nothing more, "scale" pays
``factor`` × the rest. Grams CO2e are never touched: carbon is the measurement,
points the reward. The trace records every budget that applied
(``trace["budget"]``).

Concurrency: what was issued is kept in ``SHARDS`` counter rows per budget;
each credit adds its points to one random shard in the credit's own
transaction, and reads the sum of committed shards. Concurrent credits thus
rarely wait on the same row (one shared row caps near 3 K tx/s, PERFORMANCE.md),
and no lock is held across residents. The price is a bound, not exactness: a
credit does not see the points of credits still uncommitted, so on PostgreSQL
the budget can be overshot by at most one credit per concurrent transaction
(the in-flight credits of that moment). Exactness would need every credit to
lock one budget row: the serial bottleneck this design avoids.
"""
from __future__ import annotations

import random
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from sqlalchemy import func, select, update

from carbon_credit.models import Budget, BudgetCounter
from carbon_credit.models.budgets import ALL_TYPES
from carbon_credit.timeutil import local_date, period_end, start_of_local_day

SHARDS = 16
_shard_rng = random.Random()


def month_of(moment: datetime) -> date:
    return local_date(moment).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's start and end as UTC instants (Shanghai calendar)."""
    return start_of_local_day(month), start_of_local_day(period_end(month, "month"))


def budgets_for(session, month: date, action_type: str) -> list[Budget]:
    """The budgets a credit of ``action_type`` issued in ``month`` falls under: its type's first, then all."""
    rows = session.execute(select(Budget).where(Budget.month == month,
                                                Budget.action_type.in_([action_type, ALL_TYPES]))).scalars().all()
    return sorted(rows, key=lambda b: b.action_type == ALL_TYPES)


def issued_against(session, budget_ids) -> dict[int, int]:
    """Points issued against each budget: the sum of its shards (committed ones, and this transaction's)."""
    if not budget_ids:
        return {}
    rows = session.execute(select(BudgetCounter.budget_id, func.sum(BudgetCounter.points))
                           .where(BudgetCounter.budget_id.in_(list(budget_ids)))
                           .group_by(BudgetCounter.budget_id)).all()
    totals = {budget_id: 0 for budget_id in budget_ids}
    totals.update({budget_id: int(points or 0) for budget_id, points in rows})
    return totals


def add_issued(session, budget_id: int, points: int, shard: int | None = None) -> None:
    """Count ``points`` against a budget, on one random shard (never one shared row)."""
    if points <= 0:
        return
    shard = _shard_rng.randrange(SHARDS) if shard is None else shard
    session.execute(update(BudgetCounter).where(BudgetCounter.budget_id == budget_id, BudgetCounter.shard == shard)
                    .values(points=BudgetCounter.points + points).execution_options(synchronize_session=False))


def limit_points(budget: Budget, issued: int, points: int) -> tuple[int, dict]:
    """Points after one budget, and its trace entry. Within the budget: paid in full."""
    headroom = max(0, budget.points_limit - issued)
    within = min(points, headroom)
    beyond = points - within
    if beyond == 0:
        after, effect = points, "within"
    elif budget.mode == "stop":
        after, effect = within, ("stopped" if within == 0 else "clipped")
    else:
        scaled = (Decimal(beyond) * Decimal(budget.scale_factor)).to_integral_value(rounding=ROUND_FLOOR)
        after, effect = within + int(scaled), "scaled"
    return after, {
        "budget_id": budget.id, "month": budget.month.strftime("%Y-%m"),
        "action_type": budget.action_type or None, "limit": budget.points_limit, "issued_before": issued,
        "mode": budget.mode, "scale_factor": str(budget.scale_factor) if budget.scale_factor is not None else None,
        "points_before": points, "points_after": after, "effect": effect,
    }


def _apply(outcome, budgets, issued: dict) -> list[tuple[Budget, int]]:
    """Lower ``outcome.points`` per the budgets and write the trace; returns what to count."""
    points_before = points = outcome.points
    entries = []
    for budget in budgets:
        points, entry = limit_points(budget, issued[budget.id], points)
        entries.append(entry)
    outcome.points = points
    outcome.trace["budget"] = {"points_before": points_before, "points_after": points, "applied": entries,
                               "note": "grams CO2e are recorded in full; budgets only change points"}
    outcome.trace["points"] = points
    return [(budget, points) for budget in budgets]


def apply_budget(session, action, outcome, now: datetime) -> None:
    """Pipeline outcome step (pipeline.py): budgets of the month lower the points of one credit, in its transaction."""
    if outcome.status != "credited" or outcome.points <= 0:
        return
    budgets = budgets_for(session, month_of(now), action.action_type)
    if not budgets:
        return
    counted = _apply(outcome, budgets, issued_against(session, [b.id for b in budgets]))
    for budget, points in counted:
        add_issued(session, budget.id, points)


class BatchBudget:
    """The pipeline's budget step for a bulk batch: budgets read once per batch, counted in memory.

    Call it per row as ``fn(facts, outcome)``; it sends nothing to the database.
    The points counted are written to the shards by ``flush()``, which the bulk
    path calls once the batch's rows are stored, before it commits (idempotent).
    """

    def __init__(self, session, now: datetime):
        self.session = session
        month = month_of(now)
        rows = session.execute(select(Budget).where(Budget.month == month)).scalars().all()
        self.by_type: dict[str, list[Budget]] = {}
        for budget in rows:
            self.by_type.setdefault(budget.action_type, []).append(budget)
        self.issued = issued_against(session, [b.id for b in rows])
        self.pending: dict[int, int] = {}

    def applies_to(self, action_type: str) -> bool:
        """False when no budget of the month can touch this type: the bulk path may then skip the call."""
        return bool(self.by_type.get(action_type) or self.by_type.get(ALL_TYPES))

    def __call__(self, facts, outcome) -> None:
        if outcome.status != "credited" or outcome.points <= 0:
            return
        budgets = self.by_type.get(facts.action_type, []) + self.by_type.get(ALL_TYPES, [])
        if not budgets:
            return
        for budget, points in _apply(outcome, budgets, self.issued):
            self.issued[budget.id] += points
            self.pending[budget.id] = self.pending.get(budget.id, 0) + points

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        for budget_id, points in pending.items():
            add_issued(self.session, budget_id, points)


def prepare_batch_budget(session, now: datetime) -> BatchBudget:
    return BatchBudget(session, now)


def parse_month(text: str) -> date:
    from carbon_credit.errors import InvalidInput

    try:
        year, month = (int(part) for part in str(text).split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError, InvalidOperation):
        raise InvalidInput("A month is written YYYY-MM.", errors={"month": ["expected YYYY-MM"]}) from None

__all__ = ["SHARDS", "BatchBudget", "add_issued", "apply_budget", "prepare_batch_budget", "budgets_for", "issued_against", "limit_points",
           "month_bounds", "month_of", "parse_month"]
