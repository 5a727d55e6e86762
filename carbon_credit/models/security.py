"""Sign-in counters for the throttle when no Redis is configured (carbon_credit/staff/signin.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base


class SignInCounter(Base):
    """Sign-in attempts of one account or one address in the current window.

    ``key`` is ``account:<digest>`` or ``address:<digest>`` (digests, so no
    username or address is stored as such); ``count`` restarts with each window.
    """

    __tablename__ = "sign_in_counters"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=0)
