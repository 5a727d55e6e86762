"""Transit cards: the keyed hash a card is known by, its bindings to residents, and looking them up.

Only a keyed hash of the card number (HMAC-SHA256 with the platform's card key)
and its last four digits are stored. The transit operator's nightly file is
matched on the same hash; trips of cards nobody had bound are kept as
unmatched trips. Binding a card, which credits its recent unmatched trips,
is ``carbon_credit.actions.card_trips``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, DomainError, InvalidInput, NotFound
from carbon_credit.models.cards import TransitCard
from carbon_credit.staff.audit import audit

MAX_ACTIVE_CARDS = 5
CARD_MIN_DIGITS, CARD_MAX_DIGITS = 8, 20
_SEPARATORS = re.compile(r"[\s-]")


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


def insert_binding(session, resident_id: int, digest: str, last4: str, now: datetime) -> TransitCard:
    card = TransitCard(resident_id=resident_id, card_hash=digest, active_hash=digest, last4=last4, bound_at=now)
    try:
        with session.begin_nested():
            session.add(card)
    except IntegrityError:
        raise Conflict("This card is already bound to another account.", code="card_already_bound",
                       errors={"number": ["already bound to another account"]}) from None
    return card


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

