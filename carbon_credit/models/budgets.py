"""Monthly points budgets and the sharded counters of what was issued against them."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import BigInteger, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base

BUDGET_MODES = ("stop", "scale")
ALL_TYPES = ""  # the action_type of a budget over every action type


class Budget(Base):
    """A points budget for one Shanghai month, over all action types or one of them."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("month", "action_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    action_type: Mapped[str] = mapped_column(String(48), default=ALL_TYPES)  # "" = all types
    points_limit: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(8))  # stop | scale
    scale_factor: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 4))
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BudgetCounter(Base):
    """One shard of the points issued against a budget; the total is the sum of the shards.

    A credit adds to one random shard in its own transaction, so concurrent
    credits rarely wait on the same row (one shared row caps near 3 K tx/s).
    """

    __tablename__ = "budget_counters"
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
