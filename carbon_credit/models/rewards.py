"""The rewards catalogue and residents' redemptions of it."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base, BigID
from carbon_credit.models.org import Community

REWARD_KINDS = ("coupon", "transit_credit", "goods", "donation")
REDEMPTION_STATUSES = ("issued", "used", "cancelled")

reward_communities = Table(
    "reward_communities",
    Base.metadata,
    Column("reward_id", ForeignKey("rewards.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class Reward(Base):
    """A catalogue item. Offered to the listed communities, or to everyone when none are listed."""

    __tablename__ = "rewards"
    __table_args__ = (
        # The last line of defence against overselling: the database refuses a negative stock.
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points_cost > 0", name="points_cost_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # coupon | transit_credit | goods | donation
    title: Mapped[str] = mapped_column(String(96))
    description: Mapped[str] = mapped_column(String(2000), default="")
    points_cost: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(BigInteger)
    per_resident_limit: Mapped[Optional[int]]  # None: no limit
    visible_from: Mapped[datetime]
    visible_until: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    communities: Mapped[list[Community]] = relationship(secondary=reward_communities, order_by="Community.id")

    @property
    def community_ids(self) -> list[int]:
        return [c.id for c in self.communities]


class Redemption(Base):
    """One resident's redemption: the points spent, the voucher issued, and what became of it."""

    __tablename__ = "redemptions"
    __table_args__ = (
        # A retried request with the same Idempotency-Key finds the first redemption.
        UniqueConstraint("resident_id", "idempotency_key"),
        Index("ix_redemptions_resident_reward", "resident_id", "reward_id"),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    voucher_code: Mapped[str] = mapped_column(String(16), unique=True)
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="issued")  # issued | used | cancelled
    created_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    used_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    cancelled_at: Mapped[Optional[datetime]]
    cancelled_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))  # None: the resident
    cancel_reason: Mapped[str] = mapped_column(String(256), default="")
    reward: Mapped[Reward] = relationship()
