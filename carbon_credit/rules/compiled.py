"""Immutable, ORM-free snapshots of a rule set, built once and reused per batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Optional

DEFAULT_EVIDENCE_WEIGHTS = {"partner": Decimal("1"), "worker": Decimal("1"), "qr": Decimal("1"), "self": Decimal("0.5")}


def dec(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Factor:
    unit: str
    grams_per_unit: Decimal
    source: str
    max_quantity: Optional[Decimal] = None


@dataclass(frozen=True)
class CapSpec:
    name: str
    action_types: Optional[frozenset]  # None: every action type
    period: str  # day | week | month | year
    metric: str  # count | units | grams | points
    limit: Decimal
    per: Optional[str] = None  # an action attribute that partitions the cap

    def applies_to(self, action_type: str) -> bool:
        return self.action_types is None or action_type in self.action_types

    @property
    def stage(self) -> str:
        """Carbon caps limit what is measured; points caps limit the reward after bonuses."""
        return "points" if self.metric == "points" else "carbon"


@dataclass(frozen=True)
class CompiledRule:
    action_type: str
    method: str
    factors: dict  # unit -> Factor
    points_per_gram: Decimal
    points_per_unit: Decimal
    evidence_weights: dict
    min_quantity: Optional[Decimal]
    max_quantity: Optional[Decimal]
    params: dict
    source: str

    def weight_for(self, evidence: str) -> Decimal:
        if evidence in self.evidence_weights:
            return self.evidence_weights[evidence]
        return DEFAULT_EVIDENCE_WEIGHTS.get(evidence, Decimal("0"))

    def max_for(self, unit: str) -> Optional[Decimal]:
        factor = self.factors.get(unit)
        if factor is not None and factor.max_quantity is not None:
            return factor.max_quantity
        return self.max_quantity


@dataclass(frozen=True)
class CompiledRuleSet:
    id: Optional[int]
    version: int
    effective_from: Optional[datetime]
    rules: dict  # action_type -> CompiledRule
    caps: tuple = field(default_factory=tuple)

    def caps_for(self, action_type: str) -> list:
        return [cap for cap in self.caps if cap.applies_to(action_type)]


def compile_cap(raw: dict) -> CapSpec:
    types = raw.get("action_types")
    return CapSpec(
        name=raw["name"],
        action_types=frozenset(types) if types else None,
        period=raw["period"],
        metric=raw["metric"],
        limit=dec(raw["limit"]),
        per=raw.get("per") or None,
    )


def compile_rule(rule) -> CompiledRule:
    factors = {}
    for raw in rule.factors or []:
        factors[raw["unit"]] = Factor(
            unit=raw["unit"],
            grams_per_unit=dec(raw["grams_per_unit"]),
            source=raw.get("source", ""),
            max_quantity=dec(raw["max_quantity"]) if raw.get("max_quantity") is not None else None,
        )
    weights = {k: dec(v) for k, v in (rule.evidence_weights or {}).items()}
    return CompiledRule(
        action_type=rule.action_type,
        method=rule.method,
        factors=factors,
        points_per_gram=dec(rule.points_per_gram if rule.points_per_gram is not None else 1),
        points_per_unit=dec(rule.points_per_unit if rule.points_per_unit is not None else 0),
        evidence_weights=weights,
        min_quantity=dec(rule.min_quantity) if rule.min_quantity is not None else None,
        max_quantity=dec(rule.max_quantity) if rule.max_quantity is not None else None,
        params=dict(rule.params or {}),
        source=rule.source or "",
    )


def compile_rule_set(rule_set) -> CompiledRuleSet:
    """Snapshot an ORM RuleSet (or anything shaped like one)."""
    return CompiledRuleSet(
        id=rule_set.id,
        version=rule_set.version,
        effective_from=rule_set.effective_from,
        rules={rule.action_type: compile_rule(rule) for rule in rule_set.rules},
        caps=tuple(compile_cap(raw) for raw in rule_set.caps or []),
    )
