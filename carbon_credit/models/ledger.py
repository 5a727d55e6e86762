"""The append-only points ledger.

Earn, positive adjust and refund entries are lots: they carry an expiry and a
remaining amount that spends, expiry and reversals consume oldest-first. An
account has one earn lot per expiry date: every credit that earns tops it up
(its points, grams and remaining grow; created_at stays its first earn). The
credit itself (the credits table) is the record of each earn and explains it.
Nothing else is ever updated.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID

ENTRY_KINDS = ("earn", "spend", "expire", "adjust", "reverse", "refund")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account_created", "account_id", "created_at"),
        # Open lots by expiry: what spending, the balance and the expiry job walk through.
        Index("ix_ledger_entries_open_lots", "account_id", "expires_at",
              postgresql_where=text("remaining > 0"), sqlite_where=text("remaining > 0")),
        # One earn lot per account and expiry date: what a credit's upsert tops up.
        Index("uq_ledger_entries_earn_lot", "account_id", "expires_at", unique=True,
              postgresql_where=text("kind = 'earn'"), sqlite_where=text("kind = 'earn'")),
        # Unique where set: earn lots have none and stay out of the index.
        Index("uq_ledger_entries_reference", "reference", unique=True,
              postgresql_where=text("reference IS NOT NULL"), sqlite_where=text("reference IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)  # signed: + earns, - spends
    grams: Mapped[int] = mapped_column(BigInteger, default=0)
    remaining: Mapped[int] = mapped_column(BigInteger, default=0)  # lots only
    expires_at: Mapped[Optional[datetime]]
    # Unique reference for non-credit entries (e.g. "redemption:12", "adjust:<uuid>").
    reference: Mapped[Optional[str]] = mapped_column(String(96))
    reason: Mapped[str] = mapped_column(String(256), default="")
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
