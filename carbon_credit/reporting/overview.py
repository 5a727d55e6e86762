"""The month at a glance for staff: carbon and points by category against the month before, active
residents and followers, the daily trend, the leading communities, and the points still owed.

Counted from credits with status ``credited`` by the Shanghai day of the action,
like the community figures; a resident counts for the community they belong to
now. ``community_ids`` limits everything to those communities (a worker's, or a
filter); None means the whole city.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional, Sequence

from sqlalchemy import func, select

from carbon_credit.budgets.limits import month_bounds
from carbon_credit.models import ActionType, Community, Credit, LedgerEntry, Resident, Street
from carbon_credit.staff.scope import OutOfScope, covers
from carbon_credit.timeutil import local_date, period_end, start_of_local_day

TOP_COMMUNITIES = 5


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_days(month: date) -> list[date]:
    last = period_end(month, "month")
    return [month + timedelta(days=n) for n in range((last - month).days)]


def _credited(month: date, community_ids, until: Optional[date] = None):
    """Credited, in the month (up to the day before ``until`` when given), in the communities."""
    end = period_end(month, "month") if until is None else min(until, period_end(month, "month"))
    conditions = [Credit.status == "credited", Credit.local_day >= month, Credit.local_day < end]
    if community_ids is not None:
        conditions.append(Resident.community_id.in_(list(community_ids) or [-1]))
    return conditions


def _by_category(session, month: date, community_ids, until=None) -> dict[str, dict]:
    rows = session.execute(
        select(ActionType.category, func.count(Credit.id), func.coalesce(func.sum(Credit.grams), 0),
               func.coalesce(func.sum(Credit.points), 0))
        .join(ActionType, ActionType.code == Credit.action_type).join(Resident, Resident.id == Credit.resident_id)
        .where(*_credited(month, community_ids, until)).group_by(ActionType.category)).all()
    return {category: {"actions": int(n), "grams": int(g), "points": int(p)} for category, n, g, p in rows}


def _active_residents(session, month: date, community_ids, until=None) -> int:
    return int(session.scalar(
        select(func.count(func.distinct(Credit.resident_id))).join(Resident, Resident.id == Credit.resident_id)
        .where(*_credited(month, community_ids, until))) or 0)


def _followers(session, until: datetime, community_ids) -> int:
    """Residents following the account at the end of the period (who joined before it and still follow)."""
    query = select(func.count(Resident.id)).where(Resident.status == "active", Resident.created_at <= until)
    if community_ids is not None:
        query = query.where(Resident.community_id.in_(list(community_ids) or [-1]))
    return int(session.scalar(query) or 0)


def _daily(session, month: date, community_ids, today: date) -> list[dict]:
    """Every day of the month up to today (a later day has nothing to show yet)."""
    rows = dict((day, (int(g), int(p))) for day, g, p in session.execute(
        select(Credit.local_day, func.coalesce(func.sum(Credit.grams), 0), func.coalesce(func.sum(Credit.points), 0))
        .join(Resident, Resident.id == Credit.resident_id)
        .where(*_credited(month, community_ids)).group_by(Credit.local_day)))
    return [{"day": day, "grams": rows.get(day, (0, 0))[0], "points": rows.get(day, (0, 0))[1]}
            for day in month_days(month) if day <= today]


def _top_communities(session, month: date, community_ids, limit: int) -> list[dict]:
    rows = session.execute(
        select(Community.id, Community.name, Street.name, func.count(func.distinct(Credit.resident_id)),
               func.coalesce(func.sum(Credit.grams), 0), func.coalesce(func.sum(Credit.points), 0))
        .join(Resident, Resident.id == Credit.resident_id).join(Community, Community.id == Resident.community_id)
        .join(Street, Street.id == Community.street_id)
        .where(*_credited(month, community_ids))
        .group_by(Community.id, Community.name, Street.name)
        .order_by(func.sum(Credit.points).desc(), Community.id).limit(limit)).all()
    return [{"community_id": cid, "community": name, "street": street, "participants": int(n), "grams": int(g),
             "points": int(p)} for cid, name, street, n, g, p in rows]


def month_overview(session, month: date, now: datetime, *, community_ids: Optional[Sequence[int]] = None) -> dict:
    """A month against the one before, for the communities given (None: all).

    While the month is still running it is compared with the same days of the
    month before (``to_date``: 1st to today against 1st to the same day), so a
    week into June is not set against the whole of May.
    """
    month = month.replace(day=1)
    before = previous_month(month)
    today = local_date(now)
    running = month <= today < period_end(month, "month")
    until = (before + timedelta(days=today.day)) if running else None  # exclusive, clipped to the month
    this_cats = _by_category(session, month, community_ids)
    last_cats = _by_category(session, before, community_ids, until)
    categories = []
    for name in sorted(set(this_cats) | set(last_cats)):
        now_values = this_cats.get(name, {"actions": 0, "grams": 0, "points": 0})
        then_values = last_cats.get(name, {"actions": 0, "grams": 0, "points": 0})
        categories.append({"category": name, "this": now_values, "last": then_values})
    total = lambda cats, key: sum(v[key] for v in cats.values())  # noqa: E731
    end = min(month_bounds(month)[1], now)
    return {
        "month": month, "previous": before, "to_date": today.day if running else None, "categories": categories,
        "grams": {"this": total(this_cats, "grams"), "last": total(last_cats, "grams")},
        "points": {"this": total(this_cats, "points"), "last": total(last_cats, "points")},
        "active_residents": {"this": _active_residents(session, month, community_ids),
                             "last": _active_residents(session, before, community_ids, until)},
        "followers": {"this": _followers(session, end, community_ids),
                      "last": _followers(session, _followers_then(before, until), community_ids)},
        "daily": _daily(session, month, community_ids, today),
        "top_communities": _top_communities(session, month, community_ids, TOP_COMMUNITIES),
    }


def _followers_then(month: date, until: Optional[date]) -> datetime:
    end = period_end(month, "month") if until is None else min(until, period_end(month, "month"))
    return start_of_local_day(end)


def expiring_points(session, now: datetime, *, days: int = 30) -> int:
    """Points in open lots that expire within ``days`` from now (what the expiry job will take)."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
        LedgerEntry.remaining > 0, LedgerEntry.expires_at > now,
        LedgerEntry.expires_at <= now + timedelta(days=days))) or 0)


def visible_communities(session, scope) -> list[Community]:
    """The communities a caller may look at, by street then name (for filters)."""
    query = select(Community).join(Street, Street.id == Community.street_id).order_by(Street.name, Community.name)
    if scope is not None:
        query = query.where(Community.id.in_(list(scope) or [-1]))
    return list(session.scalars(query))


def narrow_scope(session, scope, *, street_id: Optional[int] = None,
                 community_id: Optional[int] = None) -> Optional[tuple[int, ...]]:
    """The communities a filter selects within the caller's scope; a street or community outside
    the scope reads as unknown (404), like everywhere else."""
    if community_id is not None:
        community = session.get(Community, community_id)
        if community is None or not covers(scope, community.id) or (
                street_id is not None and community.street_id != street_id):
            raise OutOfScope("No such community in your area.", code="community_not_found")
        return (community.id,)
    if street_id is not None:
        ids = tuple(c.id for c in visible_communities(session, scope) if c.street_id == street_id)
        if not ids:
            raise OutOfScope("No such street in your area.", code="street_not_found")
        return ids
    return None if scope is None else tuple(scope)


def current_month(now: datetime) -> date:
    return local_date(now).replace(day=1)


__all__ = ["current_month", "expiring_points", "month_overview", "narrow_scope", "previous_month",
           "visible_communities"]
