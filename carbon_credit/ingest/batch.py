"""One batch of checked trips: deduplicated, matched to residents, credited and written.

Everything happens in the caller's transaction; the runner commits it together
with the checkpoint, so a batch is either entirely in the database or not at all.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from ..cards import card_hash
from ..pipeline import CreditPipeline, credit_pipeline
from ..rules.usage import usage_window
from ..timeutil import expiry_for
from .crediting import BatchCreditor, Credited


@dataclass(slots=True)
class Matched:
    trip: object
    day: object
    resident_id: int
    account_id: int
    credited: Optional[Credited] = None  # filled in time order by Batch.credit, as the writer reaches the row
    action_id: int = 0
    credit_id: int = 0

    @property
    def earns(self) -> bool:
        """Whether the credit opens a ledger lot (it moved points or grams)."""
        return self.credited.status == "credited" and bool(self.credited.points or self.credited.grams)


@dataclass(slots=True)
class Unknown:
    trip: object
    day: object
    card_hash: str


@dataclass
class Batch:
    """What one batch writes. Credits are computed while the writer streams the actions.

    ``credit(m)`` must be called for the matched trips in order (the caps count
    them in time order); the PostgreSQL writer calls it row by row inside the
    actions' COPY, so the rules run while the server is still storing earlier rows.
    """

    source: str
    now_s: str
    expires_at: datetime
    matched: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    creditor: object = None
    reachable: set = field(default_factory=set)  # residents a notification can reach (they follow the account)
    statuses: Counter = field(default_factory=Counter)
    sums: dict = field(default_factory=dict)  # account -> [points, grams] the batch moves
    digests: dict = field(default_factory=dict)  # (resident, local day) -> [points, grams, trips, account]

    def credit(self, m: Matched) -> Credited:
        """Credit one trip and add it to the batch's totals (so no second pass over the batch is needed)."""
        credited = m.credited = self.creditor.credit(m.trip, m.resident_id, m.action_id)
        self.statuses[credited.status] += 1
        if credited.status == "credited" and (credited.points or credited.grams):
            total = self.sums.get(m.account_id)
            if total is None:
                total = self.sums[m.account_id] = [0, 0]
            total[0] += credited.points
            total[1] += credited.grams
            digest = self.digests.get((m.resident_id, m.day))
            if digest is None:
                digest = self.digests[(m.resident_id, m.day)] = [0, 0, 0, m.account_id]
            digest[0] += credited.points
            digest[1] += credited.grams
            digest[2] += 1
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
    day's digest (the dedupe key would refuse the others), so later batches do
    not send rows the database would only throw away. A bitmap keeps this to a
    few hundred kilobytes per day even for millions of residents.
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


@dataclass
class BatchCounts:
    credited: int = 0
    capped: int = 0
    duplicates: int = 0
    unknown_cards: int = 0
    points: int = 0
    grams: int = 0


def _fresh(writer, source: str, trips: list, counts: BatchCounts) -> list:
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


def _creditor(session, writer, matched_trips: list, memo: dict, now: datetime,
              pipeline: CreditPipeline) -> BatchCreditor:
    """The pipeline's batch steps prepared once for the batch (after its accounts are locked); caps seeded."""
    since = min((t.board for t, _ in matched_trips), default=now)
    adjusters = [adjuster for adjuster in (make(session, now, since) for make in pipeline.batch_adjustments)
                 if adjuster]
    hooks = [make(session, now) for make in pipeline.batch_outcome_steps]
    creditor = BatchCreditor(adjusters, hooks, memo)
    versions = {(t.rule_set.id, t.rule_set.version, t.action_type): t for t, _ in matched_trips}
    caps = {cap.name: cap for t in versions.values() for cap in creditor.caps_for(t.rule_set, t.action_type)}
    if matched_trips:
        day_from, day_to = usage_window({t.day for t, _ in matched_trips}, caps.values())
        residents = sorted({rid for _, (rid, _aid) in matched_trips})
        creditor.seed(writer.usage_rows(residents, day_from, day_to), list(caps.values()))
    return creditor


def process_batch(session, writer, trips: list, *, source: str, key, now: datetime, memo: dict,
                  queued: Optional[QueuedDigests] = None, pipeline: Optional[CreditPipeline] = None) -> BatchCounts:
    """Write one batch; returns what happened to its rows (rejects are counted by the caller).

    ``pipeline`` defaults to the platform's credit pipeline (``pipeline.credit_pipeline()``).
    """
    pipeline = credit_pipeline() if pipeline is None else pipeline
    counts = BatchCounts()
    writer.lock_source(source)
    trips = _fresh(writer, source, trips, counts)
    by_card = {}
    hashes = {}
    for trip in trips:
        digest = trip.card_hash or by_card.get(trip.card_no)
        if digest is None:
            digest = by_card[trip.card_no] = card_hash(trip.card_no, key)
        hashes[trip.trip_id] = digest
    owners = writer.residents_for(list(set(hashes.values())))  # card hash -> (resident, account, reachable)
    writer.lock_accounts(list({aid for _rid, aid, _reachable in owners.values()}))
    batch = Batch(source=source, now_s=writer.fmt_time(now), expires_at=expiry_for(now))
    matched_trips = []
    for trip in sorted(trips, key=lambda t: (t.board, t.line_no)):
        owner = owners.get(hashes[trip.trip_id])
        if owner is None:
            batch.unknown.append(Unknown(trip, trip.day, hashes[trip.trip_id]))
        else:
            matched_trips.append((trip, owner[:2]))
            if owner[2]:
                batch.reachable.add(owner[0])
    batch.creditor = _creditor(session, writer, matched_trips, memo, now, pipeline)
    batch.matched = [Matched(trip, trip.day, resident_id, account_id)
                     for trip, (resident_id, account_id) in matched_trips]
    counts.unknown_cards = len(batch.unknown)
    _assign_ids(writer, batch)
    writer.write_batch(batch)
    batch.creditor.flush()
    _move_balances(writer, batch, counts, queued or QueuedDigests())
    return counts


def _assign_ids(writer, batch: Batch) -> None:
    """Action and credit ids up front (credits and lots refer to them); lots take their ids as they are stored."""
    ids = writer.allocate({"green_actions": len(batch.matched), "credits": len(batch.matched)})
    for m, action_id, credit_id in zip(batch.matched, ids["green_actions"], ids["credits"]):
        m.action_id, m.credit_id = action_id, credit_id


def _move_balances(writer, batch: Batch, counts: BatchCounts, queued: QueuedDigests) -> None:
    """One set-based balance update, then one digest per resident and local day (the first batch's)."""
    sums = batch.sums
    balances = writer.update_accounts({k: tuple(v) for k, v in sums.items()}, batch.now_s)
    reachable = batch.reachable
    writer.queue_digests(list(writer.digest_rows(
        {k: v for k, v in batch.digests.items() if v[0] > 0 and k[0] in reachable and queued.first(*k)},
        balances, batch.now_s)))
    counts.credited, counts.capped = batch.statuses["credited"], batch.statuses["capped"]
    counts.points = sum(v[0] for v in sums.values())
    counts.grams = sum(v[1] for v in sums.values())
