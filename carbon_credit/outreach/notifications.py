"""Queueing notifications to residents; the bot's outbox job delivers them.

Queueing is idempotent by ``dedupe_key`` so a job run twice queues once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.models import Notification, Resident


def enqueue_notification(session, resident_id: int, kind: str, payload: dict, now: datetime, *,
                         dedupe_key: str) -> Notification | None:
    """Queue one message unless it is already queued or the resident no longer takes messages."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.status != "active" or not resident.openid:
        return None
    note = Notification(resident_id=resident_id, kind=kind, payload=payload, dedupe_key=dedupe_key,
                        status="pending", attempts=0, next_attempt_at=now, created_at=now)
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        return session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key)).scalar_one()
    return note


def skip_pending_notifications(session, resident_id: int, now: datetime) -> int:
    """Stop every queued push to a resident (they unfollowed); returns how many were stopped."""
    result = session.execute(
        update(Notification)
        .where(Notification.resident_id == resident_id, Notification.status == "pending")
        .values(status="skipped", last_error="resident unfollowed; pushes stopped")
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount
