"""Registry of calculation methods: how one action's base carbon and points arise.

A method returns the carbon before evidence weighting (grams, Decimal), the
points that do not derive from carbon (points-only behaviours), and trace
details. A new method is a function here and an entry in ``METHODS``; rules name them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from carbon_credit.errors import InvalidInput
from carbon_credit.rules.compiled import CompiledRule, dec


@dataclass
class BaseAmount:
    grams: Decimal
    fixed_points: Decimal
    detail: dict = field(default_factory=dict)


def per_unit(rule: CompiledRule, quantity: Decimal, unit: str, attributes: dict) -> BaseAmount:
    """Quantity × factor for that unit: per km when the trip has a distance, per trip otherwise."""
    factor = rule.factors.get(unit)
    if factor is None:
        raise InvalidInput(f"No factor for unit {unit!r} in this rule.", code="unit_not_supported")
    grams = quantity * factor.grams_per_unit
    detail = {"unit": unit, "grams_per_unit": str(factor.grams_per_unit), "source": factor.source}
    return BaseAmount(grams=grams, fixed_points=Decimal(0), detail={"factor": detail})


def points_only(rule: CompiledRule, quantity: Decimal, unit: str, attributes: dict) -> BaseAmount:
    """Behaviours without an authoritative factor earn fixed points and claim 0 g CO2e."""
    points = quantity * rule.points_per_unit
    detail = {"points_per_unit": str(rule.points_per_unit), "source": rule.source, "grams_claimed": "0"}
    return BaseAmount(grams=Decimal(0), fixed_points=points, detail={"points_only": detail})


def appliance_kwh(rule: CompiledRule, quantity: Decimal, unit: str, attributes: dict) -> BaseAmount:
    """(baseline kWh/yr − label kWh/yr) × grid factor × years, when the category has a baseline.

    Until an admin sets the category's baseline the purchase earns fixed points
    and claims no carbon.
    """
    category = str(attributes.get("category") or "")
    baselines = rule.params.get("baseline_kwh") or {}
    grid = dec(rule.params.get("grid_g_per_kwh", "636.1"))
    years = dec(rule.params.get("years", 1))
    label = attributes.get("label_kwh")
    baseline = baselines.get(category)
    if baseline is not None and label is not None and dec(baseline) > dec(label):
        saved_kwh = dec(baseline) - dec(label)
        grams = quantity * saved_kwh * grid * years
        detail = {
            "category": category, "baseline_kwh": str(dec(baseline)), "label_kwh": str(dec(label)),
            "grid_g_per_kwh": str(grid), "years": str(years), "grid_source": rule.params.get("grid_source", ""),
        }
        return BaseAmount(grams=grams, fixed_points=Decimal(0), detail={"appliance": detail})
    fallback = dec(rule.params.get("fallback_points", 500))
    detail = {"category": category, "fallback_points": str(fallback),
              "reason": "no baseline kWh set for this category: points only, 0 g claimed"}
    return BaseAmount(grams=Decimal(0), fixed_points=quantity * fallback, detail={"appliance": detail})


# Every method a rule may name, by the name rules use.
METHODS: dict[str, Callable] = {
    "per_unit": per_unit,
    "points_only": points_only,
    "appliance_kwh": appliance_kwh,
}
