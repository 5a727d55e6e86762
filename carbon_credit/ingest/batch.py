"""One batch of checked trips: deduplicated, matched to residents, credited and written.

Everything happens in the caller's transaction; the runner commits it together
with the checkpoint, so a batch is either entirely in the database or not at all.
The batch's own rows (actions, credits, unmatched trips) are the writer's; the
ledger lots, balances and digests are written by ``ledger`` and ``notify``
themselves, set-based, through the same writer.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional

from carbon_credit.residents.cards import card_hash
from carbon_credit.ledger.points import BalanceMove, EarnLot, add_earn_lots, earns, move_balances
from carbon_credit.outreach.notifications import queue_digests
from carbon_credit.pipeline import CreditPipeline, credit_pipeline
from carbon_credit.rules.usage import usage_window
from carbon_credit.ingest.counts import IngestCounts
from carbon_credit.ingest.crediting import BatchCreditor, Credited
from carbon_credit.ingest.trips import Trip


@dataclass(slots=True)
class Matched:
    trip: Trip
    day: date
    resident_id: int
    account_id: int
    credited: Optional[Credited] = None  # filled in time order by Batch.credit, as the writer reaches the row
    action_id: int = 0  # also the id of its credit


@dataclass(slots=True)
class Unknown:
    trip: Trip
    day: date
    card_hash: str


@dataclass
class Batch:
    """What one batch writes: each matched trip's action with its credit, on one row.

    ``credit(m)`` must be called for the matched trips in order (the caps count
    them in time order); the PostgreSQL writer calls it row by row inside the
    actions' COPY, so the rules run while the server is still storing earlier rows.
    """

    source: str
    now: datetime
    matched: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    creditor: Optional[BatchCreditor] = None
    reachable: set = field(default_factory=set)  # residents a notification can reach (they follow the account)
    statuses: Counter = field(default_factory=Counter)
    moves: dict = field(default_factory=dict)  # account -> BalanceMove of the batch
    digests: dict = field(default_factory=dict)  # (resident, local day) -> points the batch credited that day

    def credit(self, m: Matched) -> Credited:
        """Credit one trip and add it to the batch's totals (so no second pass over the batch is needed)."""
        credited = m.credited = self.creditor.credit(m.trip, m.resident_id, m.action_id)
        self.statuses[credited.status] += 1
        if earns(credited.status, credited.points, credited.grams):
            move = self.moves.get(m.account_id)
            if move is None:
                move = self.moves[m.account_id] = BalanceMove()
            move.points += credited.points
            move.grams += credited.grams
            key = (m.resident_id, m.day)
            self.digests[key] = self.digests.get(key, 0) + credited.points
        return credited


class BitSet:
    """A set of small non-negative integers (resident ids, line numbers) as a bitmap: a bit each."""

    def __init__(self):
        self.bits = bytearray()

    def add(self, number: int) -> None:
        byte, bit = divmod(number, 8)
        if byte >= len(self.bits):
            self.bits.extend(bytes(byte - len(self.bits) + 4096))
        self.bits[byte] |= 1 << bit

    def __contains__(self, number: int) -> bool:
        byte, bit = divmod(number, 8)
        return byte < len(self.bits) and bool(self.bits[byte] >> bit & 1)


class QueuedDigests:
    """The (resident, local day) digests a run has queued already: one bit per resident and day.

    A resident's trips fall into many batches; only the first batch queues the
    day's digest (the (resident, day) key would refuse the others, and the one
    digest tells every trip of the day stored by the time it is sent), so later
    batches do not send rows the database would only throw away. A bitmap keeps
    this to a few hundred kilobytes per day even for millions of residents.
    """

    def __init__(self):
        self.days: dict = {}

    def first(self, resident_id: int, day) -> bool:
        """True the first time a (resident, day) is asked about in this run."""
        queued = self.days.get(day)
        if queued is None:
            queued = self.days[day] = BitSet()
        if resident_id in queued:
            return False
        queued.add(resident_id)
        return True


def _fresh(writer, source: str, trips: list, counts: IngestCounts) -> list:
    """Trips whose id is neither already stored nor repeated earlier in this batch."""
    known = writer.known_ids(source, list({t.trip_id for t in trips}))
    fresh, seen = [], set()
    for trip in trips:
        if trip.trip_id in known or trip.trip_id in seen:
            counts.duplicates += 1
            continue
        seen.add(trip.trip_id)
        fresh.append(trip)
    return fresh


def _creditor(session, writer, matched: list, memo: dict, now: datetime,
              pipeline: CreditPipeline) -> BatchCreditor:
    """The pipeline's batch steps prepared once for the batch (after its accounts are locked); caps seeded."""
    since = min((m.trip.board for m in matched), default=now)
    adjusters = [adjuster for adjuster in (make(session, now, since) for make in pipeline.batch_adjustments)
                 if adjuster]
    hooks = [make(session, now) for make in pipeline.batch_outcome_steps]
    creditor = BatchCreditor(adjusters, hooks, memo)
    versions = {(m.trip.rule_set.id, m.trip.rule_set.version, m.trip.action_type): m.trip for m in matched}
    caps = {cap.name: cap for t in versions.values() for cap in creditor.caps_for(t.rule_set, t.action_type)}
    if matched:
        day_from, day_to = usage_window({m.day for m in matched}, caps.values())
        residents = sorted({m.resident_id for m in matched})
        creditor.seed(writer.usage_rows(residents, day_from, day_to), list(caps.values()))
    return creditor


def _hashes(trips: list, key) -> dict:
    """Each trip's keyed card hash (already computed in the reading thread, but for a trip made elsewhere)."""
    by_card, hashes = {}, {}
    for trip in trips:
        digest = trip.card_hash or by_card.get(trip.card_no)
        if digest is None:
            digest = by_card[trip.card_no] = card_hash(trip.card_no, key)
        hashes[trip.trip_id] = digest
    return hashes


def process_batch(session, writer, trips: list, *, source: str, key, now: datetime, memo: dict,
                  queued: Optional[QueuedDigests] = None, pipeline: Optional[CreditPipeline] = None) -> IngestCounts:
    """Write one batch; returns what happened to its trips (rows read and rejects are counted by the caller).

    ``pipeline`` defaults to the platform's credit pipeline (``pipeline.credit_pipeline()``).
    """
    pipeline = credit_pipeline() if pipeline is None else pipeline
    counts = IngestCounts()
    writer.lock_source(source)
    trips = _fresh(writer, source, trips, counts)
    hashes = _hashes(trips, key)
    owners = writer.residents_for(list(set(hashes.values())))  # card hash -> Owner
    writer.lock_accounts(list({owner.account_id for owner in owners.values()}))
    batch = Batch(source=source, now=now)
    for trip in sorted(trips, key=lambda t: (t.board, t.line_no)):
        owner = owners.get(hashes[trip.trip_id])
        if owner is None:
            batch.unknown.append(Unknown(trip, trip.day, hashes[trip.trip_id]))
            continue
        batch.matched.append(Matched(trip, trip.day, owner.resident_id, owner.account_id))
        if owner.reachable:
            batch.reachable.add(owner.resident_id)
    batch.creditor = _creditor(session, writer, batch.matched, memo, now, pipeline)
    counts.unknown_cards = len(batch.unknown)
    _assign_ids(writer, batch)
    writer.write_batch(batch)
    add_earn_lots(writer, [EarnLot(account_id, move.points, move.grams) for account_id, move in batch.moves.items()],
                  now)
    batch.creditor.flush()
    _move_balances(writer, batch, counts, queued or QueuedDigests())
    return counts


def _assign_ids(writer, batch: Batch) -> None:
    """Action ids up front: each is its credit's id too."""
    ids = writer.allocate({"green_actions": len(batch.matched)})
    for m, action_id in zip(batch.matched, ids["green_actions"]):
        m.action_id = action_id


def _move_balances(writer, batch: Batch, counts: IngestCounts, queued: QueuedDigests) -> None:
    """One set-based balance update, then a digest per resident and local day the run has not queued yet."""
    move_balances(writer, batch.moves, now=batch.now)
    reachable = batch.reachable
    queue_digests(writer, [(resident_id, day) for (resident_id, day), points in batch.digests.items()
                           if points > 0 and resident_id in reachable and queued.first(resident_id, day)], batch.now)
    counts.credited, counts.capped = batch.statuses["credited"], batch.statuses["capped"]
    counts.points = sum(move.points for move in batch.moves.values())
    counts.grams = sum(move.grams for move in batch.moves.values())
