"""Who changed which rule, adjusted which balance, approved which evidence, and when."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # staff | resident | system | partner
    actor_id: Mapped[Optional[int]]
    verb: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[Optional[str]] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
