"""The outbox of messages to residents, delivered by a scheduled job."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID

NOTIFICATION_STATUSES = ("pending", "sent", "failed", "skipped")


class Notification(Base):
    """One message to one resident, queued once.

    A message queued one at a time carries what it says (``payload``) and is
    queued once per ``dedupe_key``. The bulk ingest's digest of a resident's
    trips of one local day (a "credit" message) carries neither: only its
    ``digest_day``, once per resident and day; the outbox builds what it says
    from that day's credits when it sends it, and the template send records
    what was said. Empty values are NULL, which a row stores for nothing.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        # The resident's messages (export, unfollow) and, with NULLs distinct, one digest per resident and day.
        Index("uq_notifications_resident_day", "resident_id", "digest_day", unique=True),
        Index("uq_notifications_dedupe_key", "dedupe_key", unique=True,
              postgresql_where=text("dedupe_key IS NOT NULL"), sqlite_where=text("dedupe_key IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    digest_day: Mapped[Optional[date]]  # the local day a transit digest tells; None for every other message
    attempts: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(32))  # credit | review_result | expiry_reminder | campaign ...
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # None for a digest (built when it is sent): SQL NULL, not the JSON text 'null'.
    payload: Mapped[Optional[dict]] = mapped_column(JSON(none_as_null=True))
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(128))  # None for a digest
    last_error: Mapped[Optional[str]] = mapped_column(String(256))
    sent_at: Mapped[Optional[datetime]]
