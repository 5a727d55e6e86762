"""Residents (居民) identified by their WeChat openid, and their points account."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base, BigID
from carbon_credit.models.org import Community


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # Null once the person unfollowed and was anonymised; the ledger row stays.
    openid: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    # While unfollowed: a keyed hash of the openid, so a returning follower finds their account again.
    openid_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    unionid: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("communities.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    # The phone is kept only as a keyed hash (for look-up by a worker) and a masked tail.
    phone_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    phone_tail: Mapped[Optional[str]] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | unfollowed | anonymised | blocked
    # Signed into every token; raised when the resident is blocked, so earlier tokens stay refused.
    token_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    community: Mapped[Optional[Community]] = relationship()
    account: Mapped["Account"] = relationship(back_populates="resident", uselist=False)


class Account(Base):
    """One resident's points balance, changed only together with ledger entries."""

    __tablename__ = "accounts"
    # Every credit moves a balance: room on each page lets PostgreSQL update in place (HOT) without
    # touching the indexes, none of which covers the changing columns.
    __table_args__ = {"postgresql_with": {"fillfactor": 80}}
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    earned_total: Mapped[int] = mapped_column(BigInteger, default=0)
    grams_total: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
    resident: Mapped[Resident] = relationship(back_populates="account")
