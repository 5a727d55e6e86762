"""Action types and versioned rule sets.

A rule set is a dated version of every rule. Drafts are edited; once activated a
version is frozen and a change means a new version. Which version applies to an
action is decided by the action's time: the activated version with the latest
``effective_from`` not after it.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base


class ActionType(Base):
    __tablename__ = "action_types"
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))  # the default unit: km, trip, step, kg, drop, item, kWh
    units: Mapped[list] = mapped_column(default=list)  # every unit accepted for this type
    category: Mapped[str] = mapped_column(String(32))  # transit, walking, waste, appliance, energy
    evidence: Mapped[str] = mapped_column(String(32))  # how evidence usually arrives
    needs_review: Mapped[bool] = mapped_column(default=False)
    self_report: Mapped[bool] = mapped_column(default=True)  # residents may declare it themselves
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class RuleSet(Base):
    __tablename__ = "rule_sets"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | activated | discarded
    effective_from: Mapped[Optional[datetime]]
    based_on_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rule_sets.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # Caps across action types: [{"name", "action_types": [...] | null, "period", "metric", "limit", "per"?}]
    caps: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    activated_at: Mapped[Optional[datetime]]
    activated_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    rules: Mapped[list["Rule"]] = relationship(
        back_populates="rule_set", order_by="Rule.action_type", cascade="all, delete-orphan"
    )

    def rule_for(self, action_type: str) -> Optional["Rule"]:
        for rule in self.rules:
            if rule.action_type == action_type:
                return rule
        return None


class Rule(Base):
    """How one action type earns carbon and points within one rule-set version."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("rule_set_id", "action_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id", ondelete="CASCADE"))
    action_type: Mapped[str] = mapped_column(ForeignKey("action_types.code"))
    method: Mapped[str] = mapped_column(String(32))  # per_unit | points_only | appliance_kwh
    # per_unit: [{"unit": "km", "grams_per_unit": 46.8, "source": "..."}]
    factors: Mapped[list] = mapped_column(default=list)
    points_per_gram: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal(1))
    points_per_unit: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal(0))
    # {"partner": 1.0, "worker": 1.0, "qr": 1.0, "self": 0.5}
    evidence_weights: Mapped[dict] = mapped_column(default=dict)
    min_quantity: Mapped[Optional[Decimal]] = mapped_column(Numeric(14, 3))
    max_quantity: Mapped[Optional[Decimal]] = mapped_column(Numeric(14, 3))
    # Method parameters, e.g. appliance baselines {"baseline_kwh": {...}, "grid_g_per_kwh": 636.1}
    params: Mapped[dict] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(Text, default="")
    rule_set: Mapped[RuleSet] = relationship(back_populates="rules")
