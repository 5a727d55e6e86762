"""Queueing notifications to residents; the bot's outbox job delivers them.

One notification at a time (``enqueue_notification``) carries what it says and
is queued once per ``dedupe_key``, so a job run twice queues once. The bulk
ingest queues many at once (``queue_digests``): a "credit" digest per resident
and local day, once per resident and day, holding no more than that day. What a
digest says is built when it is sent (``digest_payloads``), from the day's
credited trips stored by then and the balance at that moment; the template
send records what it said.

Messages are kept a while after they end (``purge_notifications``): long enough
for a resident's export and a worker's questions, not for ever, since a digest a
day per resident would otherwise grow with every trip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.db import BulkWriter
from carbon_credit.models import (Account, Credit, GreenAction, IngestRun, Notification, Resident, TemplateSend,
                                  credit_days)

# A digest's columns written set-based, and its unique key: one per resident and local day.
DIGEST_COLUMNS = ("resident_id", "digest_day")
DIGEST_KEY = ("resident_id", "digest_day")
# A message in one of these states is over: nothing sends it again.
ENDED_STATUSES = ("sent", "skipped", "failed")
# Ended messages forgotten per statement by the purge (each batch is committed on its own).
PURGE_BATCH = 5_000
# Look-ups of digests' credits: residents or days per statement (well below any database's parameter limit).
LOOKUP_CHUNK = 400


def pending_fields(now: datetime) -> dict:
    """What a newly queued notification holds besides its resident, kind and payload or key (its error: none)."""
    return {"status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}


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


def queue_digests(writer: BulkWriter, days: Iterable[tuple[int, date]], now: datetime) -> None:
    """Queue a "credit" digest per (resident id, local day), once: a day queued already is skipped.

    For residents the caller knows to take messages (active, following the
    official account). A day queued by an earlier batch or run keeps its one
    digest, which tells the trips stored by the time it is sent.
    """
    writer.insert_new("notifications", DIGEST_COLUMNS, sorted(days), unique=DIGEST_KEY,
                      same={"kind": "credit", **pending_fields(now)})


@dataclass(slots=True)
class DayDigest:
    """One resident's credited trips of one local day, told in one "credit" message."""

    day: date
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

    def payload(self, balance: Optional[int]) -> dict:
        """A credit's payload for the day: the first type as its ``action_type``, all of them in ``action_types``."""
        return {**credit_payload(self.action_types[0], self.points, self.grams, balance, self.day.isoformat()),
                "action_types": list(self.action_types), "trips": self.trips}


def is_digest(note: Notification) -> bool:
    """A digest of the bulk ingest whose payload is built when it is sent (rows queued before keep theirs)."""
    return note.payload is None and note.digest_day is not None


def _chunks(values: list):
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start:start + LOOKUP_CHUNK]


def day_digests(session, wanted: set) -> dict:
    """{(resident id, day): DayDigest} of the trips the bulk ingest credited to each, as stored now.

    A trip counts when its credit moved points or grams, as when it was credited
    (the ledger's ``earns``); the trips of the operator's file are the actions
    recorded under an ingest run's source, including those a card's binding
    claimed later. Pairs with nothing credited are left out.
    """
    found: dict = {}
    residents, days = sorted({r for r, _ in wanted}), sorted({d for _, d in wanted})
    sources = select(IngestRun.source)
    for resident_ids in _chunks(residents):
        for some_days in _chunks(days):
            rows = session.execute(
                select(Credit.resident_id, Credit.local_day, Credit.action_type, Credit.points, Credit.grams)
                .join(GreenAction, GreenAction.id == Credit.id)
                # through the actions' (resident_id, occurred_at) index: the credits have none of their own
                .where(GreenAction.resident_id.in_(resident_ids),
                       *credit_days(some_days[0], some_days[-1] + timedelta(days=1)), Credit.local_day.in_(some_days),
                       Credit.status == "credited", GreenAction.idem_scope.in_(sources))
                .order_by(GreenAction.occurred_at, Credit.id))
            for resident_id, day, action_type, points, grams in rows:
                if (resident_id, day) not in wanted or not (points or grams):
                    continue
                digest = found.get((resident_id, day))
                if digest is None:
                    digest = found[(resident_id, day)] = DayDigest(day)
                digest.add(action_type, points, grams)
    return found


def digest_payloads(session, notes: Iterable[Notification], *, with_balance: bool = True) -> dict:
    """{notification id: what the digest says now} for the digests among ``notes``.

    The balance is the resident's at this moment (None without ``with_balance``).
    A digest whose day holds no points any more maps to None: it has nothing to tell.
    """
    digests = [note for note in notes if is_digest(note)]
    if not digests:
        return {}
    figures = day_digests(session, {(note.resident_id, note.digest_day) for note in digests})
    balances = {}
    if with_balance:
        for resident_ids in _chunks(sorted({note.resident_id for note in digests})):
            balances.update(session.execute(select(Account.resident_id, Account.balance)
                                            .where(Account.resident_id.in_(resident_ids))).all())
    payloads = {}
    for note in digests:
        figure = figures.get((note.resident_id, note.digest_day))
        told = figure is not None and figure.points > 0
        payloads[note.id] = figure.payload(balances.get(note.resident_id)) if told else None
    return payloads


def skip_pending_notifications(session, resident_id: int, now: datetime) -> int:
    """Stop every queued push to a resident (they unfollowed); returns how many were stopped."""
    result = session.execute(
        update(Notification)
        .where(Notification.resident_id == resident_id, Notification.status == "pending")
        .values(status="skipped", last_error="resident unfollowed; pushes stopped")
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def purge_notifications(session, now: datetime, keep: timedelta, *, on_batch=None, batch: int = PURGE_BATCH) -> int:
    """Forget messages that ended (sent, skipped, failed) more than ``keep`` ago, with the template sends that
    recorded what they said; returns how many. A pending message is never forgotten, however old.

    A message's ``next_attempt_at`` is its last try (or the end of its lease), so the outbox's own
    (status, next_attempt_at) index finds them; ``on_batch`` runs after each batch (the job commits).
    """
    cutoff = now - keep
    removed = 0
    while True:
        ids = list(session.scalars(select(Notification.id).where(
            Notification.status.in_(ENDED_STATUSES), Notification.next_attempt_at < cutoff).limit(batch)))
        if not ids:
            return removed
        session.execute(delete(TemplateSend).where(TemplateSend.notification_id.in_(ids)))
        removed += session.execute(delete(Notification).where(Notification.id.in_(ids))
                                   .execution_options(synchronize_session=False)).rowcount or 0
        if on_batch is not None:
            on_batch()
        if len(ids) < batch:
            return removed
