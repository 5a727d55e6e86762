"""What a resident has already used of each cap: the one definition of its keys, periods and sums.

A cap counts a resident's credited actions of its types within one period
(the day, ISO week, month or year of the action's local day) and, for a cap
with ``per``, within one tag. Every place that tracks usage uses this
module: the one-at-a-time path reads it from committed credits
(``actions.db_usage``, over ``cap_period``), the bulk ingest and the bulk
recording (``actions.bulk``) keep it in memory seeded from grouped committed
credits (``MemoryUsage.fold``), and the rule preview replays it in memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from carbon_credit.timeutil import period_end, period_start

# Quantities are stored with three decimals (Numeric(14, 3)). Used units are kept with exactly as many,
# whether the database summed them (which gives "12.500", or "0" for nothing on PostgreSQL) or memory
# did ("12.5"): the engine's arithmetic on them, and so every figure of a trace, is then the same on
# every path and database, digit for digit.
UNITS_STEP = Decimal("0.001")


@dataclass(slots=True)
class Usage:
    count: int = 0
    units: Decimal = Decimal(0)
    grams: Decimal = Decimal(0)
    points: Decimal = Decimal(0)

    def __post_init__(self):
        self.units = Decimal(self.units).quantize(UNITS_STEP)

    def metric(self, name: str) -> Decimal:
        """The figure a cap of this metric compares and its trace shows as ``used_before``."""
        return Decimal(getattr(self, name))

    def add(self, quantity, grams, points, count: int = 1) -> None:
        """Count credited actions: ``count`` of them, with their summed quantity, grams and points."""
        self.count += count
        self.units = (self.units + Decimal(quantity)).quantize(UNITS_STEP)
        self.grams += Decimal(grams)
        self.points += Decimal(points)

    def copy(self) -> "Usage":
        return Usage(self.count, self.units, self.grams, self.points)


def cap_period(cap, day: date) -> tuple[date, date]:
    """The local days a cap counts for an action on ``day``: [first, after last)."""
    return period_start(day, cap.period), period_end(day, cap.period)


def usage_key(resident_id: int, cap, day: date, tag):
    """Which usage an action counts against: resident, cap, first day of the cap's period, tag if per-tag."""
    start = day if cap.period == "day" else period_start(day, cap.period)
    return resident_id, cap.name, start, tag if cap.per else None


def usage_window(days, caps) -> tuple[date, date]:
    """The local days whose credits the caps can see for actions on ``days``: [first, after last)."""
    low, high = min(days), max(days)
    periods = {cap.period for cap in caps} or {"day"}
    return min(period_start(low, p) for p in periods), max(period_end(high, p) for p in periods)


@dataclass(frozen=True, slots=True)
class CommittedUsage:
    """Committed credits of one resident, local day, type and tag, summed (``credits`` grouped)."""

    resident_id: int
    day: date
    action_type: str
    tag: object
    count: int
    units: Decimal
    grams: Decimal
    points: Decimal


class MemoryUsage:
    """Cap usage kept in memory while a batch or a preview walks actions in time order.

    ``fold`` lets a batch start from what the database already holds; ``by_key``
    is open to callers that look a key up per row (the bulk creditor).
    """

    EMPTY = Usage()  # what an untouched cap has used; never changed

    def __init__(self):
        self.by_key: dict = {}

    def used(self, resident_id, cap, day: date, tag) -> Usage:
        return self.by_key.get(usage_key(resident_id, cap, day, tag)) or Usage()

    def add(self, resident_id, caps, day: date, tag, grams, points, quantity) -> None:
        """One credited action counted against each of ``caps``."""
        self.add_at([usage_key(resident_id, cap, day, tag) for cap in caps], quantity, grams, points)

    def add_at(self, keys, quantity, grams, points) -> None:
        by_key = self.by_key
        for key in keys:
            usage = by_key.get(key)
            if usage is None:
                usage = by_key[key] = Usage()
            usage.add(quantity, grams, points)

    def seed(self, resident_id, cap, day: date, tag, usage: Usage) -> None:
        self.by_key[usage_key(resident_id, cap, day, tag)] = usage

    def fold(self, rows, caps) -> None:
        """Count committed usage (``CommittedUsage`` rows) against every cap among ``caps`` it falls under."""
        by_key = self.by_key
        for row in rows:
            for cap in caps:
                if cap.applies_to(row.action_type):
                    key = usage_key(row.resident_id, cap, row.day, row.tag)
                    usage = by_key.get(key)
                    if usage is None:
                        usage = by_key[key] = Usage()
                    usage.add(row.units, row.grams, row.points, int(row.count))
