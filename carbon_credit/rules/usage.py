"""What a resident has already used of each cap, from the database or from memory."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from carbon_credit.timeutil import period_start


@dataclass
class Usage:
    count: int = 0
    units: Decimal = Decimal(0)
    grams: Decimal = Decimal(0)
    points: Decimal = Decimal(0)

    def metric(self, name: str) -> Decimal:
        return Decimal(getattr(self, name))


class MemoryUsage:
    """Cap usage kept in memory while a batch or a preview walks actions in time order.

    ``seed`` lets a batch start from what the database already holds for the day.
    """

    def __init__(self):
        self._used: dict = defaultdict(Usage)

    def key(self, resident_id, cap, day: date, tag):
        return (resident_id, cap.name, period_start(day, cap.period), tag if cap.per else None)

    def used(self, resident_id, cap, day: date, tag) -> Usage:
        return self._used.get(self.key(resident_id, cap, day, tag)) or Usage()

    def add(self, resident_id, caps, day: date, tag, grams, points, quantity):
        for cap in caps:
            usage = self._used[self.key(resident_id, cap, day, tag)]
            usage.count += 1
            usage.units += Decimal(quantity)
            usage.grams += Decimal(grams)
            usage.points += Decimal(points)

    def seed(self, resident_id, cap, day: date, tag, usage: Usage):
        self._used[self.key(resident_id, cap, day, tag)] = usage
