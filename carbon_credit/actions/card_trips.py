"""Binding a transit card, which credits the trips it made before anyone had bound it.

The transit operator's nightly file keeps trips of cards nobody had bound as
unmatched trips. When a resident binds a card, its unmatched trips from the
claim window (7 days by default) are credited to them, each with the rules in
force at the trip's time and the caps of that trip's day, oldest first;
older trips stay unclaimed, and a day after the window they are forgotten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.errors import Conflict, DomainError, NotFound, ResidentInactive
from carbon_credit.models import Resident
from carbon_credit.models.cards import TransitCard, UnmatchedTrip
from carbon_credit.residents.cards import (
    MAX_ACTIVE_CARDS,
    active_cards,
    card_hash,
    insert_binding,
    normalise_card_number,
)
from carbon_credit.staff.audit import audit


@dataclass
class BindResult:
    card: TransitCard
    created: bool
    claimed_trips: int = 0
    claimed_points: int = 0
    claimed_grams: int = 0


def bind_card(session, resident_id: int, number, now: datetime, *, key, claim_window: timedelta) -> BindResult:
    """Bind a card (idempotent for the same resident) and claim its recent unmatched trips."""
    digits = normalise_card_number(number)
    digest = card_hash(digits, key)
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    if resident.status != "active":
        raise ResidentInactive()
    existing = session.execute(select(TransitCard).where(TransitCard.active_hash == digest)).scalar_one_or_none()
    if existing is not None and existing.resident_id == resident_id:
        return BindResult(card=existing, created=False)
    if existing is None and len(active_cards(session, resident_id)) >= MAX_ACTIVE_CARDS:
        raise Conflict(f"At most {MAX_ACTIVE_CARDS} cards can be bound.", code="too_many_cards")
    card = insert_binding(session, resident_id, digest, digits[-4:], now)
    result = BindResult(card=card, created=True)
    claim_unmatched_trips(session, resident_id, digest, now, claim_window, result)
    audit(session, now, "card.bind", "transit_card", card.id, actor_kind="resident", actor_id=resident_id,
          last4=card.last4, claimed_trips=result.claimed_trips, claimed_points=result.claimed_points)
    return result


def claim_unmatched_trips(session, resident_id: int, digest: str, now: datetime, window: timedelta,
                          result: BindResult) -> None:
    """Credit the card's unclaimed trips of the last ``window``, oldest first.

    The rows are locked, so two bindings racing (only possible across an unbind)
    cannot claim a trip twice; the action's idempotency key is the trip's, so a
    later re-ingest of the same file finds it a duplicate.
    """
    trips = session.execute(
        select(UnmatchedTrip).where(UnmatchedTrip.card_hash == digest, UnmatchedTrip.claimed_at.is_(None),
                                    UnmatchedTrip.occurred_at >= now - window, UnmatchedTrip.occurred_at <= now)
        .order_by(UnmatchedTrip.occurred_at, UnmatchedTrip.id).with_for_update()).scalars().all()
    for trip in trips:
        try:
            recorded = record_action(session, ActionInput(
                resident_id=resident_id, action_type=trip.action_type, quantity=trip.quantity, unit=trip.unit,
                occurred_at=trip.occurred_at, source="partner_feed", evidence="partner", idem_scope=trip.source,
                external_id=trip.external_id, attributes=dict(trip.attributes or {}, claimed=True)), now)
        except DomainError:
            continue  # e.g. the action type was retired since: the trip stays unclaimed
        trip.claimed_at, trip.claimed_by, trip.action_id = now, resident_id, recorded.action.id
        if recorded.created and recorded.credit is not None:
            result.claimed_trips += 1
            result.claimed_points += recorded.credit.points
            result.claimed_grams += recorded.credit.grams
    session.flush()


def purge_unmatched_trips(session, now: datetime, claim_window: timedelta) -> int:
    """Forget trips of unknown cards once nobody can claim them any more (a day past the window).

    They hold only a card hash, but nothing is kept longer than it serves.
    """
    cutoff = now - claim_window - timedelta(days=1)
    return session.execute(delete(UnmatchedTrip).where(UnmatchedTrip.occurred_at < cutoff)).rowcount or 0
