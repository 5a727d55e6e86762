"""Queueing notifications to residents; the bot's outbox job delivers them.

Queueing is idempotent by ``dedupe_key`` so a job run twice queues once. One
notification at a time (``enqueue_notification``) or many at once
(``queue_digests``, the bulk ingest's nightly digest per resident and day):
the same columns, the same payload of a credit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Iterable, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.db import BulkWriter
from carbon_credit.models import Notification, Resident

# The columns of a digest written set-based; ``pending_fields`` gives the rest.
DIGEST_COLUMNS = ("resident_id", "kind", "payload", "dedupe_key")


def pending_fields(now: datetime) -> dict:
    """What a newly queued notification holds besides its resident, kind, payload and key."""
    return {"status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now}


def credit_payload(action_type: str, points: int, grams: int, balance: Optional[int], occurred_at: str) -> dict:
    """What a "credit" notification says: the action's type code, its points and grams, the balance after."""
    return {"action_type": action_type, "points": points, "grams": grams, "balance": balance,
            "occurred_at": occurred_at}


def enqueue_notification(session, resident_id: int, kind: str, payload: dict, now: datetime, *,
                         dedupe_key: str) -> Notification | None:
    """Queue one message unless it is already queued or the resident no longer takes messages."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.status != "active" or not resident.openid:
        return None
    note = Notification(resident_id=resident_id, kind=kind, payload=payload, dedupe_key=dedupe_key,
                        **pending_fields(now))
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        return session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key)).scalar_one()
    return note


@dataclass(slots=True)
class DayDigest:
    """One resident's credited trips of one local day, told in one "credit" message."""

    resident_id: int
    day: date
    account_id: int
    points: int = 0
    grams: int = 0
    trips: int = 0
    action_types: list = field(default_factory=list)  # type codes, in the order the day's trips first took them

    def add(self, action_type: str, points: int, grams: int) -> None:
        self.points += points
        self.grams += grams
        self.trips += 1
        if action_type not in self.action_types:
            self.action_types.append(action_type)

    @property
    def dedupe_key(self) -> str:
        return f"transit:{self.day.isoformat()}:{self.resident_id}"

    def payload(self, balance: Optional[int]) -> dict:
        """A credit's payload for the day: the first type as its ``action_type``, all of them in ``action_types``."""
        return {**credit_payload(self.action_types[0], self.points, self.grams, balance, self.day.isoformat()),
                "action_types": list(self.action_types), "trips": self.trips}


@lru_cache(maxsize=256)
def _json_list(codes: tuple) -> str:
    return json.dumps(list(codes))


def digest_json(digest: DayDigest, balance: Optional[int]) -> str:
    """``json.dumps(digest.payload(balance))``, written directly: every value is a number, a date or a type code
    (json.dumps per row was a tenth of a batch's own Python time). A test compares the two."""
    codes = tuple(digest.action_types)
    return (f'{{"action_type": {json.dumps(codes[0])}, "points": {digest.points}, '
            f'"grams": {digest.grams}, "balance": {"null" if balance is None else balance}, '
            f'"occurred_at": "{digest.day.isoformat()}", "action_types": {_json_list(codes)}, "trips": {digest.trips}}}')


def queue_digests(writer: BulkWriter, digests: Iterable[DayDigest], balances: dict, now: datetime) -> None:
    """Queue a "credit" message per digest (``balances``: account id -> balance after), once per key.

    For residents the caller knows to take messages (active, following the
    official account); a digest whose key is queued already is skipped.
    """
    writer.insert_new("notifications", DIGEST_COLUMNS, (
        (d.resident_id, "credit", digest_json(d, balances.get(d.account_id)), d.dedupe_key) for d in digests),
        unique="dedupe_key", same=pending_fields(now))


def skip_pending_notifications(session, resident_id: int, now: datetime) -> int:
    """Stop every queued push to a resident (they unfollowed); returns how many were stopped."""
    result = session.execute(
        update(Notification)
        .where(Notification.resident_id == resident_id, Notification.status == "pending")
        .values(status="skipped", last_error="resident unfollowed; pushes stopped")
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount
