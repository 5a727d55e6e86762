"""Admins setting monthly points budgets, and the month's figures: issued, liability, forecast."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carbon_credit.budgets.limits import SHARDS, issued_against, month_bounds
from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import ActionType, Budget, BudgetCounter, Credit, LedgerEntry
from carbon_credit.models.budgets import ALL_TYPES, BUDGET_MODES
from carbon_credit.staff.audit import audit

FORECAST_METHOD = ("linear: points issued so far ÷ the elapsed fraction of the month "
                   "(Asia/Shanghai calendar); a finished month's forecast is what it issued")


def _check(session, values: dict) -> None:
    errors: dict[str, list[str]] = {}
    limit = values.get("points_limit")
    if not isinstance(limit, int) or limit <= 0:
        errors["points_limit"] = ["must be a whole number above 0"]
    mode, factor = values.get("mode"), values.get("scale_factor")
    if mode not in BUDGET_MODES:
        errors["mode"] = [f"must be one of {', '.join(BUDGET_MODES)}"]
    elif mode == "scale" and (factor is None or not Decimal(0) < Decimal(str(factor)) < Decimal(1)):
        errors["scale_factor"] = ["scale needs a factor with 0 < factor < 1"]
    elif mode == "stop" and factor is not None:
        errors["scale_factor"] = ["only the scale mode takes a factor"]
    action_type = values.get("action_type") or ALL_TYPES
    if action_type != ALL_TYPES and session.get(ActionType, action_type) is None:
        errors["action_type"] = ["unknown action type"]
    if errors:
        raise InvalidInput("The budget is not valid.", errors=errors)


def points_issued(session, month: date, action_type: str = ALL_TYPES) -> int:
    """Points credited in the month (optionally of one action type): its credited credits' points.

    The month is the credits' recorded time (Shanghai calendar), when their points reached the ledger.
    """
    start, end = month_bounds(month)
    query = select(func.coalesce(func.sum(Credit.points), 0)).where(
        Credit.status == "credited", Credit.created_at >= start, Credit.created_at < end)
    if action_type != ALL_TYPES:
        query = query.where(Credit.action_type == action_type)
    return int(session.execute(query).scalar_one())


def create_budget(session, now: datetime, *, actor_id: int, month: date, points_limit: int, mode: str,
                  action_type: Optional[str] = None, scale_factor=None) -> Budget:
    """A month's budget. Points already issued that month are counted against it from the start."""
    values = dict(points_limit=points_limit, mode=mode, scale_factor=scale_factor, action_type=action_type)
    _check(session, values)
    month = month.replace(day=1)
    budget = Budget(month=month, action_type=action_type or ALL_TYPES, points_limit=points_limit, mode=mode,
                    scale_factor=Decimal(str(scale_factor)) if scale_factor is not None else None,
                    created_by=actor_id, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(budget)
    except IntegrityError:
        raise Conflict("This month already has a budget for that scope; change it instead.",
                       code="budget_exists") from None
    already = points_issued(session, month, budget.action_type)
    session.add_all([BudgetCounter(budget_id=budget.id, shard=shard, points=already if shard == 0 else 0)
                     for shard in range(SHARDS)])
    session.flush()
    audit(session, now, "budget.create", "budget", budget.id, actor_id=actor_id, month=month.strftime("%Y-%m"),
          action_type=action_type, points_limit=points_limit, mode=mode,
          scale_factor=str(scale_factor) if scale_factor is not None else None, issued_at_creation=already)
    return budget


def update_budget(session, budget_id: int, changes: dict, now: datetime, *, actor_id: int) -> Budget:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("No such budget.", code="budget_not_found")
    merged = {"points_limit": budget.points_limit, "mode": budget.mode, "scale_factor": budget.scale_factor,
              "action_type": budget.action_type, **changes}
    if merged["mode"] == "stop" and "scale_factor" not in changes:
        merged["scale_factor"] = None
    _check(session, merged)
    before = {"points_limit": budget.points_limit, "mode": budget.mode, "scale_factor": _text(budget.scale_factor)}
    budget.points_limit, budget.mode = merged["points_limit"], merged["mode"]
    budget.scale_factor = Decimal(str(merged["scale_factor"])) if merged["scale_factor"] is not None else None
    budget.updated_at = now
    session.flush()
    audit(session, now, "budget.update", "budget", budget.id, actor_id=actor_id, before=before,
          after={"points_limit": budget.points_limit, "mode": budget.mode, "scale_factor": _text(budget.scale_factor)})
    return budget


def _text(value):
    return None if value is None else str(value)


def delete_budget(session, budget_id: int, now: datetime, *, actor_id: int) -> None:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("No such budget.", code="budget_not_found")
    issued = issued_against(session, [budget.id])[budget.id]
    session.query(BudgetCounter).filter(BudgetCounter.budget_id == budget.id).delete()
    session.delete(budget)
    session.flush()
    audit(session, now, "budget.delete", "budget", budget_id, actor_id=actor_id,
          month=budget.month.strftime("%Y-%m"), points_limit=budget.points_limit, issued=issued)


def elapsed_fraction(month: date, now: datetime) -> float:
    start, end = month_bounds(month)
    return min(1.0, max(0.0, (now - start) / (end - start)))


def liability(session, now: datetime) -> int:
    """Outstanding liability: points in unexpired lots of every account (what residents can still spend)."""
    return int(session.execute(select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
        LedgerEntry.remaining > 0, LedgerEntry.expires_at > now)).scalar_one())


def _forecast(issued: int, fraction: float) -> Optional[int]:
    return None if fraction <= 0 else int(issued / fraction)


def month_report(session, month: date, now: datetime) -> dict:
    month = month.replace(day=1)
    fraction = elapsed_fraction(month, now)
    issued = points_issued(session, month)
    budgets = session.execute(select(Budget).where(Budget.month == month).order_by(Budget.action_type)).scalars().all()
    counted = issued_against(session, [b.id for b in budgets])
    rows = []
    for budget in budgets:
        used = counted[budget.id]
        forecast = _forecast(used, fraction)
        rows.append({"budget": budget, "issued_points": used, "remaining_points": max(0, budget.points_limit - used),
                     "exhausted": used >= budget.points_limit, "forecast_points": forecast,
                     "forecast_exceeds_limit": forecast is not None and forecast > budget.points_limit})
    return {"month": month.strftime("%Y-%m"), "elapsed_fraction": round(fraction, 4), "issued_points": issued,
            "liability_points": liability(session, now), "forecast_points": _forecast(issued, fraction),
            "forecast_method": FORECAST_METHOD, "budgets": rows}


__all__ = ["FORECAST_METHOD", "create_budget", "delete_budget", "elapsed_fraction", "liability", "month_report",
           "points_issued", "update_budget"]
