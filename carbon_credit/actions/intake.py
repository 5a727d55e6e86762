"""Helpers shared by the ways data comes in from outside (partner events, station weigh-ins).

A resident is named by exactly one identifier; each kind of identifier has a
resolver in ``RESIDENT_RESOLVERS``. Card numbers and phones are looked up by
their keyed hash, so the caller passes the keys (``IdentityKeys``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select

from carbon_credit.errors import InvalidInput
from carbon_credit.ledger.points import earns
from carbon_credit.models import Account, Credit, GreenAction, Resident
from carbon_credit.outreach.notifications import credit_payload, enqueue_notification
from carbon_credit.residents.accounts import find_resident_by_phone
from carbon_credit.residents.cards import resident_id_for_card


@dataclass(frozen=True)
class IdentityKeys:
    card_key: Optional[str] = None
    phone_key: Optional[str] = None


def _by_resident_id(session, value, keys: IdentityKeys) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise InvalidInput("resident_id is a whole number.", errors={"resident.resident_id": ["a whole number"]})
    return session.scalar(select(Resident.id).where(Resident.id == int(value)))


def _by_openid(session, value, keys: IdentityKeys) -> Optional[int]:
    return session.scalar(select(Resident.id).where(Resident.openid == str(value)))


def _by_phone(session, value, keys: IdentityKeys) -> Optional[int]:
    resident = find_resident_by_phone(session, value, key=keys.phone_key)
    return resident.id if resident is not None else None


def _by_card(session, value, keys: IdentityKeys) -> Optional[int]:
    return resident_id_for_card(session, value, key=keys.card_key)


RESIDENT_RESOLVERS: dict[str, Callable] = {
    "resident_id": _by_resident_id, "openid": _by_openid, "phone": _by_phone, "card_no": _by_card,
}


def resolve_resident(session, ref, keys: IdentityKeys, *, allowed=tuple(RESIDENT_RESOLVERS)) -> Optional[int]:
    """The resident id named by ``ref`` ({identifier: value}); None when nobody matches."""
    named = [k for k in allowed if isinstance(ref, dict) and ref.get(k) not in (None, "")]
    if len(named) != 1 or set(ref) - set(allowed):
        raise InvalidInput(f"Name the resident by exactly one of {', '.join(allowed)}.", code="invalid_resident_ref",
                           errors={"resident": [f"exactly one of {list(allowed)}"]})
    return RESIDENT_RESOLVERS[named[0]](session, ref[named[0]], keys)


def protected_ref(ref, keys: IdentityKeys) -> str:
    """A keyed digest of a resident reference, for request fingerprints.

    A plain sha256 over a phone or card number could be reversed by trying every
    number; the keyed digest cannot without the platform's key.
    """
    key = (keys.phone_key or keys.card_key or "").encode()
    text = json.dumps(ref, sort_keys=True, default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def queue_credit_notice(session, action: GreenAction, credit: Optional[Credit], now: datetime) -> None:
    """Tell the resident about points just credited (once per action)."""
    if credit is None or not earns(credit.status, credit.points, credit.grams):
        return
    balance = session.scalar(select(Account.balance).where(Account.resident_id == action.resident_id))
    payload = credit_payload(action.action_type, credit.points, credit.grams, balance, action.occurred_at.isoformat())
    enqueue_notification(session, action.resident_id, "credit", payload, now, dedupe_key=f"credit:{action.id}")
