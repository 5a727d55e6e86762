"""Signed-in browser sessions of staff, kept on the server so they can be ended at once."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base


class StaffSession(Base):
    """One sign-in. The cookie carries a random secret; only its SHA-256 digest is stored here,
    so a copy of this table does not let anyone act as the staff member."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the cookie's secret
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]
    # Why it ended: sign_out | password_changed | disabled | expired
    revoked_reason: Mapped[Optional[str]] = mapped_column(String(32))
