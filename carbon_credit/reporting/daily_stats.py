"""Daily statistics: per Shanghai day, community and action type, residents, actions, grams and points.

A day is always recomputed whole from the credits (delete the day's rows, insert
the aggregate, in one transaction), so running it again after a crash or after
late credits (the transit operator's nightly file) gives the same table.
The community is the resident's community when the statistics are computed.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from carbon_credit.models import Credit, DailyStat, Resident
from carbon_credit.timeutil import local_date

# The nightly partner files credit yesterday's actions after midnight: recompute a few days back.
DEFAULT_LOOKBACK_DAYS = 3


def compute_daily_stats(session, day: date, now: datetime) -> int:
    """Replace the statistics of ``day``; returns the number of rows written."""
    session.execute(delete(DailyStat).where(DailyStat.day == day))
    aggregate = (
        select(Credit.local_day, Resident.community_id, Credit.action_type,
               func.count(func.distinct(Credit.resident_id)), func.count(Credit.id),
               func.coalesce(func.sum(Credit.grams), 0), func.coalesce(func.sum(Credit.points), 0))
        .join(Resident, Resident.id == Credit.resident_id)
        .where(Credit.local_day == day, Credit.status == "credited")
        .group_by(Credit.local_day, Resident.community_id, Credit.action_type)
    )
    rows = [
        {"day": d, "community_id": community, "action_type": action_type, "residents": residents,
         "actions": actions, "grams": int(grams), "points": int(points), "computed_at": now}
        for d, community, action_type, residents, actions, grams, points in session.execute(aggregate)
    ]
    if rows:
        session.execute(insert(DailyStat), rows)
    session.flush()
    return len(rows)


def recompute_recent_days(session, now: datetime, *, days: int = DEFAULT_LOOKBACK_DAYS) -> dict:
    """Recompute the ``days`` Shanghai days before today (the daily job); returns rows per day."""
    today = local_date(now)
    written = {}
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        written[day.isoformat()] = compute_daily_stats(session, day, now)
    return written


def daily_stats(session, start: date, end: date, *, community_ids=None) -> list[DailyStat]:
    """Stored rows for ``start`` ≤ day ≤ ``end``, optionally for some communities only."""
    query = select(DailyStat).where(DailyStat.day >= start, DailyStat.day <= end)
    if community_ids is not None:
        query = query.where(DailyStat.community_id.in_(list(community_ids)))
    return list(session.execute(query.order_by(DailyStat.day, DailyStat.community_id,
                                               DailyStat.action_type)).scalars())


__all__ = ["DEFAULT_LOOKBACK_DAYS", "compute_daily_stats", "daily_stats", "recompute_recent_days"]
