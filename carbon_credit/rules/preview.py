"""What a draft rule set would have credited, compared with the version in force.

Both versions are replayed over the same recorded actions, in time order, with
caps tracked in memory, so the comparison is like for like (campaign bonuses
and budgets are left out of both). Nothing is written.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from carbon_credit.errors import RuleSetInvalid
from carbon_credit.models import GreenAction, RuleSet
from carbon_credit.rules import ActionFacts, MemoryUsage, compile_rule_set, evaluate
from carbon_credit.rules.versions import compiled_in_force, validate_rule_set
from carbon_credit.timeutil import local_date

MAX_DAYS = 90


class _Replay:
    """One version replayed: per-type and per-resident totals with its own cap usage."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.usage = MemoryUsage()
        self.types = defaultdict(lambda: {"credited": 0, "capped": 0, "grams": 0, "points": 0})
        self.residents = defaultdict(int)

    def apply(self, facts: ActionFacts):
        totals = self.types[facts.action_type]
        if facts.action_type not in self.compiled.rules:
            return
        outcome = evaluate(self.compiled, facts, lambda cap, day, tag: self.usage.used(facts.resident_id, cap,
                                                                                       day, tag))
        totals[outcome.status] += 1
        totals["grams"] += outcome.grams
        totals["points"] += outcome.points
        self.residents[facts.resident_id] += outcome.points
        if outcome.status == "credited":
            self.usage.add(facts.resident_id, self.compiled.caps_for(facts.action_type), facts.local_day,
                           outcome.cap_tag, outcome.grams, outcome.points, facts.quantity)


def _actions(session, since: datetime, until: datetime):
    query = (select(GreenAction.resident_id, GreenAction.action_type, GreenAction.quantity, GreenAction.unit,
                    GreenAction.occurred_at, GreenAction.evidence, GreenAction.attributes)
             .where(GreenAction.occurred_at >= since, GreenAction.occurred_at <= until,
                    GreenAction.status.in_(("credited", "capped")))
             .order_by(GreenAction.occurred_at, GreenAction.id)
             .execution_options(yield_per=5000))
    for row in session.execute(query):
        yield ActionFacts(resident_id=row.resident_id, action_type=row.action_type, quantity=Decimal(row.quantity),
                          unit=row.unit, local_day=local_date(row.occurred_at), evidence=row.evidence,
                          attributes=row.attributes or {})


def _shift(current: dict, draft: dict) -> dict:
    residents = set(current) | set(draft)
    deltas = sorted(draft.get(r, 0) - current.get(r, 0) for r in residents)
    if not deltas:
        return {"residents": 0, "gaining": 0, "losing": 0, "unchanged": 0, "total_change": 0,
                "largest_gain": 0, "largest_loss": 0, "median_change": 0}
    return {
        "residents": len(deltas),
        "gaining": sum(1 for d in deltas if d > 0),
        "losing": sum(1 for d in deltas if d < 0),
        "unchanged": sum(1 for d in deltas if d == 0),
        "total_change": sum(deltas),
        "largest_gain": max(deltas[-1], 0),
        "largest_loss": min(deltas[0], 0),
        "median_change": deltas[len(deltas) // 2],
    }


def preview_rule_set(session, draft: RuleSet, now: datetime, days: int = 30) -> dict:
    """Totals per action type under both versions and how residents' points would shift."""
    if not 1 <= days <= MAX_DAYS:
        raise RuleSetInvalid(f"Preview between 1 and {MAX_DAYS} days.", code="invalid_preview_window",
                             errors={"days": [f"between 1 and {MAX_DAYS}"]})
    problems = validate_rule_set(session, draft)
    if problems:
        raise RuleSetInvalid(errors={p["field"]: [p["message"]] for p in problems})
    current, candidate = _Replay(compiled_in_force(session, now)), _Replay(compile_rule_set(draft))
    since = now - timedelta(days=days)
    count = 0
    for facts in _actions(session, since, now):
        count += 1
        current.apply(facts)
        candidate.apply(facts)
    by_type = []
    for code in sorted(set(current.types) | set(candidate.types)):
        cur, new = current.types[code], candidate.types[code]
        by_type.append({"action_type": code, "current": cur, "draft": new,
                        "points_change": new["points"] - cur["points"], "grams_change": new["grams"] - cur["grams"]})
    return {
        "days": days, "since": since.isoformat(), "until": now.isoformat(), "actions": count,
        "current_version": current.compiled.version, "draft_version": draft.version,
        "by_action_type": by_type,
        "totals": {"current_points": sum(t["current"]["points"] for t in by_type),
                   "draft_points": sum(t["draft"]["points"] for t in by_type),
                   "current_grams": sum(t["current"]["grams"] for t in by_type),
                   "draft_grams": sum(t["draft"]["grams"] for t in by_type)},
        "residents": _shift(current.residents, candidate.residents),
    }
