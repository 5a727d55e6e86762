"""Crediting a batch of matched trips in memory with the one rules engine.

Caps start from what the database already holds for the residents and days
of the batch (committed credits, grouped) and then count the batch's own
credits in time order, exactly as ``carbon_credit.rules.evaluate`` would see
them one by one. Outcomes are memoised on everything ``evaluate`` reads (rule
version, type, quantity, unit, the used amount of each cap, adjustments), so
the common trip is evaluated and serialised once, not two million times.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..rules import ActionFacts, MemoryUsage, Usage, evaluate
from ..timeutil import local_date, period_end, period_start

EVIDENCE = "partner"
MEMO_LIMIT = 200_000


@dataclass(slots=True)
class Credited:
    status: str
    grams: int
    points: int
    cap_tag: object
    trace_json: str
    copy_text: object = None  # the trace escaped for COPY, filled by the PostgreSQL writer


def dump_trace(trace: dict) -> str:
    return json.dumps(trace, ensure_ascii=False, separators=(",", ":"), default=str)


def usage_window(trips, caps) -> tuple[date, date]:
    """The local days whose committed credits the caps of this batch can see."""
    days = [local_date(t.board) for t in trips]
    low, high = min(days), max(days)
    periods = {cap.period for cap in caps} or {"day"}
    return min(period_start(low, p) for p in periods), max(period_end(high, p) for p in periods)


def seed_usage(memory: MemoryUsage, rows, caps) -> None:
    """Fold committed usage rows (resident, day, type, tag, count, units, grams, points) into caps."""
    for resident_id, day, action_type, tag, count, units, grams, points in rows:
        for cap in caps:
            if not cap.applies_to(action_type):
                continue
            key_tag = tag if cap.per else None
            current = memory.used(resident_id, cap, day, key_tag)
            memory.seed(resident_id, cap, day, key_tag, Usage(
                count=current.count + int(count), units=current.units + Decimal(units),
                grams=current.grams + Decimal(grams), points=current.points + Decimal(points)))


class BatchCreditor:
    """Evaluates trips one by one against the in-memory caps of one batch."""

    def __init__(self, memory: MemoryUsage, adjusters=(), outcome_hooks=(), memo=None):
        self.memory = memory
        self.adjusters = list(adjusters)
        self.hooks = list(outcome_hooks)
        self.memo = memo if memo is not None else {}

    def credit(self, trip, resident_id: int) -> Credited:
        compiled = trip.rule_set
        day = local_date(trip.board)
        facts = ActionFacts(resident_id=resident_id, action_type=trip.action_type, quantity=trip.quantity,
                            unit=trip.unit, local_day=day, evidence=EVIDENCE, attributes={"mode": trip.mode})
        caps = compiled.caps_for(trip.action_type)
        tag = next((str(facts.attributes.get(c.per)) for c in caps if c.per), None)
        used = [self.memory.used(resident_id, cap, day, tag) for cap in caps]
        adjustments = [adj for adjust in self.adjusters for adj in adjust(facts)]
        key = (compiled.id, compiled.version, trip.action_type, trip.quantity, trip.unit,
               tuple(u.metric(c.metric) for c, u in zip(caps, used)),
               repr(adjustments) if adjustments else None)
        result = None if self.hooks else self.memo.get(key)
        if result is None:
            by_cap = {cap.name: usage for cap, usage in zip(caps, used)}
            outcome = evaluate(compiled, facts, lambda cap, _day, _tag: by_cap[cap.name], adjustments)
            for hook in self.hooks:
                hook(facts, outcome)
            result = Credited(outcome.status, outcome.grams, outcome.points, outcome.cap_tag,
                              dump_trace(outcome.trace))
            if not self.hooks:
                if len(self.memo) >= MEMO_LIMIT:
                    self.memo.clear()
                self.memo[key] = result
        if result.status == "credited":
            self.memory.add(resident_id, caps, day, tag, result.grams, result.points, trip.quantity)
        return result
