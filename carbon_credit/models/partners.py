"""Partners that push data in (transit and bike operators, smart bins, recycling kiosks).

A partner signs every request with its secret (HMAC-SHA256). The secret is
needed to verify signatures, so it cannot be hashed like a password: it is kept
encrypted at rest (Fernet, key derived from SECRET_KEY) and shown in clear only
once, when it is issued.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID

PARTNER_KINDS = ("transit_operator", "bike_operator", "smart_bin", "recycling_kiosk")


class Partner(Base):
    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    # Action type codes this partner may send; anything else is rejected per event.
    action_types: Mapped[list] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    key_issued_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PartnerNonce(Base):
    """Nonces seen within the replay window; the unique constraint refuses a replay."""

    __tablename__ = "partner_nonces"
    __table_args__ = (
        UniqueConstraint("partner_id", "nonce"),
        Index("ix_partner_nonces_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
