"""Calendar arithmetic on the Asia/Shanghai calendar.

Storage is UTC; every period a resident can see (a day's cap, a month's ranking,
year-end expiry) is a Shanghai calendar period.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
PERIODS = ("day", "week", "month", "year")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ensure_aware(value: datetime) -> datetime:
    """Naive datetimes from outside are read as Shanghai local time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=TZ)
    return value


def local_date(moment: datetime) -> date:
    return ensure_aware(moment).astimezone(TZ).date()


def start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TZ).astimezone(timezone.utc)


def period_start(day: date, period: str) -> date:
    """First local date of the day/ISO week/month/year containing ``day``."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown period {period!r}")


def period_end(day: date, period: str) -> date:
    """First local date after the period containing ``day`` (exclusive bound)."""
    start = period_start(day, period)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def expiry_for(earned_at: datetime) -> datetime:
    """Points expire at the end of the calendar year after the year they were earned."""
    year = local_date(earned_at).year
    return start_of_local_day(date(year + 2, 1, 1))
