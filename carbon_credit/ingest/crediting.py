"""Crediting a batch of matched trips in memory with the one rules engine.

Caps start from what the database already holds for the residents and days
of the batch (committed credits, grouped) and then count the batch's own
credits in time order, exactly as ``carbon_credit.rules.evaluate`` would see
them one by one. Outcomes are memoised on everything ``evaluate`` reads (rule
version, type, quantity, unit, the used amount of each cap, adjustments), so
the common trip is evaluated and serialised once, not millions of times.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..rules import ActionFacts, Usage, evaluate
from ..timeutil import period_end, period_start

EVIDENCE = "partner"
MEMO_LIMIT = 50_000
_EMPTY = Usage()


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


def usage_window(days, caps) -> tuple[date, date]:
    """The local days whose committed credits the caps of this batch can see."""
    low, high = min(days), max(days)
    periods = {cap.period for cap in caps} or {"day"}
    return min(period_start(low, p) for p in periods), max(period_end(high, p) for p in periods)


def _usage_key(resident_id, cap, day, tag):
    """Same partition as MemoryUsage: resident, cap, start of the cap's period, tag if the cap has one."""
    start = day if cap.period == "day" else period_start(day, cap.period)
    return resident_id, cap.name, start, tag if cap.per else None


class BatchCreditor:
    """Evaluates trips one by one against the in-memory caps of one batch."""

    def __init__(self, adjusters=(), outcome_hooks=(), memo=None):
        self.usage: dict = {}
        self.adjusters = list(adjusters)
        self.hooks = list(outcome_hooks)
        self.memo = memo if memo is not None else {}
        self._caps: dict = {}

    def caps_for(self, compiled, action_type: str) -> tuple:
        key = (compiled.id, compiled.version, action_type)
        caps = self._caps.get(key)
        if caps is None:
            caps = self._caps[key] = tuple(compiled.caps_for(action_type))
        return caps

    def seed(self, rows, caps) -> None:
        """Fold committed usage rows (resident, day, type, tag, count, units, grams, points) into caps."""
        for resident_id, day, action_type, tag, count, units, grams, points in rows:
            for cap in caps:
                if cap.applies_to(action_type):
                    key = _usage_key(resident_id, cap, day, tag)
                    usage = self.usage.get(key)
                    if usage is None:
                        usage = self.usage[key] = Usage()
                    usage.count += int(count)
                    usage.units += Decimal(units)
                    usage.grams += Decimal(grams)
                    usage.points += Decimal(points)

    def credit(self, trip, resident_id: int) -> Credited:
        compiled, day = trip.rule_set, trip.day
        caps = self.caps_for(compiled, trip.action_type)
        attributes = {"mode": trip.mode}
        tag = next((str(attributes.get(c.per)) for c in caps if c.per), None)
        keys = [_usage_key(resident_id, cap, day, tag) for cap in caps]
        used = [self.usage.get(k, _EMPTY) for k in keys]
        facts = adjustments = None
        if self.adjusters or self.hooks:
            facts = self._facts(trip, resident_id, attributes)
            adjustments = [adj for adjust in self.adjusters for adj in adjust(facts)]
        memo_key = (compiled.id, compiled.version, trip.action_type, trip.quantity, trip.unit,
                    tuple(getattr(u, c.metric) for c, u in zip(caps, used)), repr(adjustments) if adjustments else None)
        result = None if self.hooks else self.memo.get(memo_key)
        if result is None:
            result = self._evaluate(trip, resident_id, attributes, caps, used, facts, adjustments or ())
            if not self.hooks:
                if len(self.memo) >= MEMO_LIMIT:
                    self.memo.clear()
                self.memo[memo_key] = result
        if result.status == "credited":
            for key in keys:
                usage = self.usage.get(key)
                if usage is None:
                    usage = self.usage[key] = Usage()
                usage.count += 1
                usage.units += trip.quantity
                usage.grams += result.grams
                usage.points += result.points
        return result

    @staticmethod
    def _facts(trip, resident_id, attributes) -> ActionFacts:
        return ActionFacts(resident_id=resident_id, action_type=trip.action_type, quantity=trip.quantity,
                           unit=trip.unit, local_day=trip.day, evidence=EVIDENCE, attributes=attributes)

    def _evaluate(self, trip, resident_id, attributes, caps, used, facts, adjustments) -> Credited:
        facts = facts or self._facts(trip, resident_id, attributes)
        by_cap = {cap.name: Usage(u.count, u.units, u.grams, u.points) for cap, u in zip(caps, used)}
        outcome = evaluate(trip.rule_set, facts, lambda cap, _day, _tag: by_cap[cap.name], adjustments)
        for hook in self.hooks:
            hook(facts, outcome)
        return Credited(outcome.status, outcome.grams, outcome.points, outcome.cap_tag, dump_trace(outcome.trace))
