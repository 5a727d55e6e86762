"""Streets, communities and the staff who work in them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base

staff_communities = Table(
    "staff_communities",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class Street(Base):
    """A 街道: the level at which the street office reports."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    district: Mapped[str] = mapped_column(String(64), default="")
    communities: Mapped[list["Community"]] = relationship(back_populates="street", order_by="Community.id")


class Community(Base):
    """A 社区 within a street."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"))
    name: Mapped[str] = mapped_column(String(64))
    street: Mapped[Street] = relationship(back_populates="communities")


class Staff(Base):
    """A community worker or an admin of the operator; signs in with a password."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # "admin" | "worker"
    active: Mapped[bool] = mapped_column(default=True)
    # Signed into every token; raised by log-out, a password change or reset and disabling, so the
    # tokens issued before are refused at once on every instance (api/auth.py load_principal).
    token_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    communities: Mapped[list[Community]] = relationship(secondary=staff_communities, order_by="Community.id")

    @property
    def community_ids(self) -> list[int]:
        return [c.id for c in self.communities]
