"""Transit cards bound to residents, trips of cards nobody has bound yet, and ingest checkpoints.

A card number is never stored: only a keyed hash (HMAC-SHA256) that the
operator's nightly file can be matched against, and the last four digits so a
resident can tell their cards apart.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID


class TransitCard(Base):
    """One binding of a card to a resident.

    ``active_hash`` equals ``card_hash`` while the binding is active and is NULL
    once unbound, so a plain unique constraint allows one active binding per card
    on SQLite and PostgreSQL alike, while the history of bindings stays.
    """

    __tablename__ = "transit_cards"
    __table_args__ = (Index("ix_transit_cards_resident", "resident_id", "unbound_at"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    card_hash: Mapped[str] = mapped_column(String(64), index=True)
    active_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    bound_at: Mapped[datetime]
    unbound_at: Mapped[Optional[datetime]]


class UnmatchedTrip(Base):
    """A trip whose card no resident had bound when the file arrived; claimable on binding.

    ``(source, external_id)`` is the same idempotency key as the green action the
    trip becomes once claimed, so neither a re-ingest nor a second claim doubles it.
    """

    __tablename__ = "unmatched_trips"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_unmatched_trips_card_occurred", "card_hash", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    source: Mapped[str] = mapped_column(String(48))
    external_id: Mapped[str] = mapped_column(String(128))
    card_hash: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str] = mapped_column(String(48))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    local_day: Mapped[date] = mapped_column(Date)
    attributes: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    claimed_at: Mapped[Optional[datetime]]
    claimed_by: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("residents.id"))
    action_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("green_actions.id"))


class IngestRun(Base):
    """The checkpoint of one bulk file: committed together with each batch.

    Keyed by the file's content hash and source, so a run killed halfway resumes
    after ``rows_done`` rows (counted in the order of its card partitions, which
    it keeps) and a finished file run again starts a new pass (which finds every
    row a duplicate).
    """

    __tablename__ = "ingest_runs"
    __table_args__ = (UniqueConstraint("source", "content_hash"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    source: Mapped[str] = mapped_column(String(48))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done
    passes: Mapped[int] = mapped_column(Integer, default=1)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)  # data rows committed so far
    # How many card partitions the file is split into (ingest/partition.py); 1 is the file's own order.
    partitions: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    credited: Mapped[int] = mapped_column(BigInteger, default=0)
    capped: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    unknown_cards: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    grams: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]
