"""Binding transit cards to residents, and claiming the trips of a newly bound card.

Only a keyed hash of the card number (HMAC-SHA256 with the platform's card key)
and its last four digits are stored. The transit operator's nightly file is
matched on the same hash; trips of cards nobody had bound are kept as
unmatched trips. When a resident binds a card, its unmatched trips from the
claim window (7 days by default) are credited to them, each with the rules in
force at the trip's time and the caps of that trip's day, oldest first;
older trips stay unclaimed.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.errors import Conflict, DomainError, InvalidInput, NotFound, ResidentInactive
from carbon_credit.models import Resident
from carbon_credit.models.cards import TransitCard, UnmatchedTrip
from carbon_credit.staff.audit import audit

MAX_ACTIVE_CARDS = 5
CARD_MIN_DIGITS, CARD_MAX_DIGITS = 8, 20
_SEPARATORS = re.compile(r"[\s-]")


@dataclass
class BindResult:
    card: TransitCard
    created: bool
    claimed_trips: int = 0
    claimed_points: int = 0
    claimed_grams: int = 0


def normalise_card_number(number) -> str:
    """Digits only (spaces and hyphens as printed on cards are dropped); 8 to 20 digits."""
    if not isinstance(number, str):
        raise InvalidInput("A card number is a string of digits.", code="invalid_card_number",
                           errors={"number": ["must be a string of digits"]})
    digits = _SEPARATORS.sub("", number)
    if not digits.isascii() or not digits.isdigit():
        raise InvalidInput("A card number has digits only.", code="invalid_card_number",
                           errors={"number": ["digits only"]})
    if not CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS:
        raise InvalidInput(f"A card number has {CARD_MIN_DIGITS} to {CARD_MAX_DIGITS} digits.",
                           code="invalid_card_number",
                           errors={"number": [f"{CARD_MIN_DIGITS} to {CARD_MAX_DIGITS} digits"]})
    return digits


def card_hash(number: str, key) -> str:
    """HMAC-SHA256 (hex) of the normalised number under the platform's card key."""
    if not key:
        raise DomainError("No card hash key is configured.", code="card_key_missing")
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, number.encode(), hashlib.sha256).hexdigest()


def hash_card_number(number, key) -> str:
    return card_hash(normalise_card_number(number), key)


def active_cards(session, resident_id: int) -> list[TransitCard]:
    return list(session.execute(
        select(TransitCard).where(TransitCard.resident_id == resident_id, TransitCard.active_hash.is_not(None))
        .order_by(TransitCard.bound_at, TransitCard.id)).scalars())


def resident_id_for_card(session, number, *, key) -> Optional[int]:
    """The resident an active binding points to, or None (an unknown card)."""
    return resident_id_for_hash(session, hash_card_number(number, key))


def resident_id_for_hash(session, digest: str) -> Optional[int]:
    return session.execute(select(TransitCard.resident_id).where(TransitCard.active_hash == digest)).scalar()


def _insert_binding(session, resident_id: int, digest: str, last4: str, now: datetime) -> TransitCard:
    card = TransitCard(resident_id=resident_id, card_hash=digest, active_hash=digest, last4=last4, bound_at=now)
    try:
        with session.begin_nested():
            session.add(card)
    except IntegrityError:
        raise Conflict("This card is already bound to another account.", code="card_already_bound",
                       errors={"number": ["already bound to another account"]}) from None
    return card


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
    card = _insert_binding(session, resident_id, digest, digits[-4:], now)
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


def unbind_card(session, resident_id: int, card_id: int, now: datetime) -> TransitCard:
    """End an active binding; trips already credited stay, later trips become unmatched."""
    card = session.get(TransitCard, card_id)
    if card is None or card.resident_id != resident_id:
        raise NotFound("No such card.", code="card_not_found")
    if card.active_hash is None:
        raise Conflict("This card is already unbound.", code="card_not_bound")
    changed = session.execute(update(TransitCard).where(TransitCard.id == card.id, TransitCard.active_hash.is_not(None))
                              .values(active_hash=None, unbound_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if not changed:
        raise Conflict("This card is already unbound.", code="card_not_bound")
    session.refresh(card)
    audit(session, now, "card.unbind", "transit_card", card.id, actor_kind="resident", actor_id=resident_id,
          last4=card.last4)
    return card


def purge_unmatched_trips(session, now: datetime, claim_window: timedelta) -> int:
    """Forget trips of unknown cards once nobody can claim them any more (a day past the window).

    They hold only a card hash, but nothing is kept longer than it serves.
    """
    cutoff = now - claim_window - timedelta(days=1)
    return session.execute(delete(UnmatchedTrip).where(UnmatchedTrip.occurred_at < cutoff)).rowcount or 0


__all__ = [
    "BindResult", "active_cards", "purge_unmatched_trips", "bind_card", "card_hash", "claim_unmatched_trips",
    "hash_card_number", "normalise_card_number", "resident_id_for_card", "resident_id_for_hash", "unbind_card",
]
