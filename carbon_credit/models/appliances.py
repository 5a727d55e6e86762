"""Appliance purchase claims and the invoice photos that back them.

Photos live in the database (content type, size, sha256 and the bytes): they
are small (≤ 5 MB), must be visible to every API host behind the load balancer,
are written in the same transaction as the claim (no orphan files, no claim
without its photo) and are backed up with the data they justify.

A claim holds the two keys that stop double crediting, each under a unique
constraint and set to NULL when the claim is rejected, so a rejected claim
frees its invoice and its category-year slot:

- ``invoice_key``: the normalised invoice number, across all residents;
- ``slot_key``: "resident:category:year", one appliance per category per
  Shanghai year.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from carbon_credit.db import Base, BigID

APPLIANCE_CATEGORIES = ("refrigerator", "air_conditioner", "washing_machine", "water_heater", "tv", "other")
CLAIM_STATUSES = ("pending", "approved", "rejected")


class EvidencePhoto(Base):
    __tablename__ = "evidence_photos"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Deferred: listing claims never drags megabytes of image along.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime]


class ApplianceClaim(Base):
    __tablename__ = "appliance_claims"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    action_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("green_actions.id"), unique=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    year: Mapped[int] = mapped_column(Integer)
    invoice_no: Mapped[str] = mapped_column(String(64))
    invoice_date: Mapped[date] = mapped_column(Date)
    invoice_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    slot_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    photo_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("evidence_photos.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
