"""Evaluate one action against a compiled rule set.

The order is fixed and documented (README, API docs):

1. the rule's method gives base carbon (grams) and fixed points;
2. the evidence weight scales both (unverified claims count for less);
3. carbon caps (count, units, grams) may cap or clip the action;
4. points = grams × points per gram + fixed points;
5. campaign adjustments: multipliers multiply, then one-off bonuses add;
6. points caps (per type and the total daily points) may clip the points; when they refuse
   part of the points the carbon earned (not only campaign bonus points), the grams keep the
   same share as those points: carbon a cap refused is never reported;
7. grams and points are rounded down to whole numbers (never over-claim).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Callable, Optional

from carbon_credit.rules.compiled import CompiledRuleSet
from carbon_credit.rules.methods import METHODS
from carbon_credit.rules.usage import Usage


@dataclass(frozen=True)
class ActionFacts:
    resident_id: int
    action_type: str
    quantity: Decimal
    unit: str
    local_day: date
    evidence: str
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Adjustment:
    """A points adjustment from outside the rule set (a campaign bonus)."""

    kind: str  # multiplier | bonus
    value: Decimal
    label: str
    ref: dict = field(default_factory=dict)


@dataclass
class Outcome:
    status: str  # credited | capped
    grams: int
    points: int
    cap_tag: Optional[str]
    trace: dict


def floor_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _carbon_fraction(cap, used: Usage, quantity: Decimal, grams: Decimal, fraction: Decimal) -> Decimal:
    """The share of the action a carbon cap still allows (0 = capped, 1 = untouched)."""
    if cap.metric == "count":
        return Decimal(0) if used.count + 1 > cap.limit else fraction
    if cap.metric == "units":
        headroom, wanted = cap.limit - used.units, quantity * fraction
    else:  # grams
        headroom, wanted = cap.limit - used.grams, grams * fraction
    if headroom <= 0:
        return Decimal(0)
    if wanted > headroom:
        return fraction * headroom / wanted
    return fraction


def _plain(value: Decimal) -> str:
    """A number as plain digits without trailing zeros (234, 104.6)."""
    return format(value.normalize(), "f")


def _cap_trace(cap, used: Usage, effect: str) -> dict:
    return {
        "name": cap.name, "period": cap.period, "metric": cap.metric, "limit": str(cap.limit),
        "used_before": str(used.metric(cap.metric)), "effect": effect,
    }


def _apply_adjustments(points: Decimal, adjustments) -> tuple[Decimal, list]:
    trace = []
    for adj in sorted(adjustments, key=lambda a: 0 if a.kind == "multiplier" else 1):
        before = points
        points = points * adj.value if adj.kind == "multiplier" else points + adj.value
        trace.append({"kind": adj.kind, "value": str(adj.value), "label": adj.label, "ref": adj.ref,
                      "points_before": str(before), "points_after": str(points)})
    return points, trace


def evaluate(
    rule_set: CompiledRuleSet,
    facts: ActionFacts,
    used: Callable,
    adjustments=(),
) -> Outcome:
    """``used(cap, local_day, tag) -> Usage`` reports what the resident already used of a cap."""
    rule = rule_set.rules[facts.action_type]
    base = METHODS[rule.method](rule, facts.quantity, facts.unit, facts.attributes)
    weight = rule.weight_for(facts.evidence)
    grams = base.grams * weight
    caps = rule_set.caps_for(facts.action_type)
    tag = next((str(facts.attributes.get(c.per)) for c in caps if c.per), None)

    fraction, caps_trace, capped = Decimal(1), [], False
    for cap in (c for c in caps if c.stage == "carbon"):
        usage = used(cap, facts.local_day, tag)
        new_fraction = _carbon_fraction(cap, usage, facts.quantity, grams, fraction)
        effect = "capped" if new_fraction == 0 else ("clipped" if new_fraction < fraction else "ok")
        capped = capped or new_fraction == 0
        caps_trace.append(_cap_trace(cap, usage, effect))
        fraction = new_fraction
    grams *= fraction
    points = grams * rule.points_per_gram + base.fixed_points * weight * fraction

    adj_trace = []
    carbon_points = points  # the points of the carbon alone: what a cap may refuse before grams are cut
    if not capped and points > 0:
        points, adj_trace = _apply_adjustments(points, adjustments)
        carbon_points = min(carbon_points, points)  # a multiplier below 1 leaves less carbon-backed points
    points_before_caps = points

    for cap in (c for c in caps if c.stage == "points"):
        usage = used(cap, facts.local_day, tag)
        headroom = max(Decimal(0), cap.limit - usage.points)
        effect = "ok"
        if points > headroom:
            effect = "capped" if headroom == 0 else "clipped"
            points = headroom
        caps_trace.append(_cap_trace(cap, usage, effect))
    final_points = floor_int(points)
    if final_points == 0 and any(c["effect"] != "ok" for c in caps_trace):
        capped = True
    carbon_share = None
    if not capped and grams > 0 and points < points_before_caps and points < carbon_points:
        # The caps let through less than the carbon's own points (bonus points are refused first):
        # the grams keep the share of those points that passed.
        carbon_share = {"carbon_points": _plain(carbon_points), "points_let_through": _plain(points),
                        "grams_before": floor_int(grams)}
        grams = grams * points / carbon_points
    final_grams = 0 if capped else floor_int(grams)
    final_points = 0 if capped else final_points
    if carbon_share is not None:
        carbon_share["grams_after"] = final_grams

    trace = {
        "rule_set": {"id": rule_set.id, "version": rule_set.version,
                     "effective_from": rule_set.effective_from.isoformat() if rule_set.effective_from else None},
        "method": rule.method,
        "quantity": str(facts.quantity),
        "unit": facts.unit,
        **base.detail,
        "grams_before_weight": str(base.grams),
        "evidence": facts.evidence,
        "evidence_weight": str(weight),
        "points_per_gram": str(rule.points_per_gram),
        "caps": caps_trace,
        "adjustments": adj_trace,
        **({"points_cap_grams": carbon_share} if carbon_share is not None else {}),
        "rounding": "grams and points rounded down to whole numbers",
        "grams": final_grams,
        "points": final_points,
    }
    return Outcome(status="capped" if capped else "credited", grams=final_grams, points=final_points,
                   cap_tag=tag, trace=trace)
