"""Registering partners, issuing and rotating their keys, and checking their signed requests.

The key id and secret are returned in clear once, by ``create_partner`` and
``rotate_partner_key``; afterwards only the encrypted secret is stored. The
cipher (anything with Fernet's ``encrypt``/``decrypt``) comes from the caller:
the web face derives it from SECRET_KEY, so the domain never sees that key.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import ActionType
from carbon_credit.models.partners import PARTNER_KINDS, Partner
from carbon_credit.models.stations import Station
from carbon_credit.partners.signing import (
    PartnerAuthError,
    check_nonce_format,
    check_signature,
    check_timestamp,
)
from carbon_credit.staff.audit import audit

EDITABLE = ("name", "kind", "action_types", "active")


@dataclass
class IssuedKey:
    """What the partner must be told once: the key id and the secret to sign with."""

    partner: Partner
    key_id: str
    secret: str


@dataclass
class SignedRequest:
    key_id: str
    timestamp: str
    nonce: str
    signature: str
    method: str
    path: str
    body: bytes


def _new_key(partner: Partner, cipher, now: datetime) -> IssuedKey:
    key_id, secret = "pk_" + secrets.token_hex(10), secrets.token_urlsafe(32)
    partner.key_id = key_id
    partner.secret_encrypted = cipher.encrypt(secret.encode()).decode()
    partner.key_issued_at = now
    return IssuedKey(partner=partner, key_id=key_id, secret=secret)


def _check_fields(session, data: dict) -> None:
    errors = {}
    if "kind" in data and data["kind"] not in PARTNER_KINDS:
        errors["kind"] = [f"one of {list(PARTNER_KINDS)}"]
    if "name" in data and not str(data["name"] or "").strip():
        errors["name"] = ["required"]
    if "action_types" in data:
        known = set(session.execute(select(ActionType.code).where(ActionType.active.is_(True))).scalars())
        unknown = sorted(set(data["action_types"] or []) - known)
        if unknown:
            errors["action_types"] = [f"unknown action types: {', '.join(unknown)}"]
    if errors:
        raise InvalidInput(errors=errors)


def _assign_stations(session, partner: Partner, station_ids) -> list[int]:
    """Make ``partner`` the operator of exactly these stations."""
    wanted = sorted(set(station_ids))
    found = set(session.execute(select(Station.id).where(Station.id.in_(wanted))).scalars()) if wanted else set()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(errors={"station_ids": [f"unknown stations: {missing}"]}, code="station_not_found")
    session.execute(update(Station).where(Station.partner_id == partner.id, Station.id.not_in(wanted or [0]))
                    .values(partner_id=None))
    if wanted:
        session.execute(update(Station).where(Station.id.in_(wanted)).values(partner_id=partner.id))
    return wanted


def _flush_unique_name(session, partner: Partner) -> None:
    try:
        with session.begin_nested():
            session.add(partner)
    except IntegrityError:
        raise Conflict("Another partner already has this name.", code="partner_name_taken") from None


def create_partner(session, data: dict, now: datetime, *, cipher, actor_id=None) -> IssuedKey:
    """Register a partner and issue its first key."""
    _check_fields(session, {**data, "name": data.get("name"), "kind": data.get("kind")})
    partner = Partner(name=data["name"].strip(), kind=data["kind"], action_types=sorted(set(data["action_types"])),
                      active=data.get("active", True), created_at=now, updated_at=now)
    issued = _new_key(partner, cipher, now)
    _flush_unique_name(session, partner)
    stations = _assign_stations(session, partner, data.get("station_ids") or [])
    audit(session, now, "partner.create", "partner", partner.id, actor_id=actor_id, name=partner.name,
          kind=partner.kind, action_types=partner.action_types, station_ids=stations, key_id=issued.key_id)
    return issued


def get_partner(session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    return partner


def list_partners(session) -> list[Partner]:
    return list(session.execute(select(Partner).order_by(Partner.id)).scalars())


def partner_station_ids(session, partner_id: int) -> list[int]:
    return list(session.execute(select(Station.id).where(Station.partner_id == partner_id)
                                .order_by(Station.id)).scalars())


def update_partner(session, partner_id: int, changes: dict, now: datetime, *, actor_id=None) -> Partner:
    partner = get_partner(session, partner_id)
    _check_fields(session, changes)
    before = {k: getattr(partner, k) for k in EDITABLE if k in changes}
    for name in EDITABLE:
        if name in changes:
            value = changes[name]
            setattr(partner, name, sorted(set(value)) if name == "action_types" else value)
    partner.updated_at = now
    _flush_unique_name(session, partner)
    detail = {"before": before, "after": {k: getattr(partner, k) for k in before}}
    if "station_ids" in changes:
        detail["station_ids"] = _assign_stations(session, partner, changes["station_ids"] or [])
    audit(session, now, "partner.update", "partner", partner.id, actor_id=actor_id, **detail)
    return partner


def rotate_partner_key(session, partner_id: int, now: datetime, *, cipher, actor_id=None) -> IssuedKey:
    """Issue a new key; the old one stops working at once."""
    partner = get_partner(session, partner_id)
    old_key = partner.key_id
    issued = _new_key(partner, cipher, now)
    partner.updated_at = now
    session.flush()
    audit(session, now, "partner.rotate_key", "partner", partner.id, actor_id=actor_id, old_key_id=old_key,
          key_id=issued.key_id)
    return issued


def verify_partner_request(session, req: SignedRequest, now: datetime, *, cipher, nonces) -> Partner:
    """The active partner that signed ``req``; PartnerAuthError (401) with a precise code otherwise."""
    if not (req.key_id and req.timestamp and req.nonce and req.signature):
        raise PartnerAuthError("X-Partner-Key, X-Timestamp, X-Nonce and X-Signature are all required.",
                               code="signature_missing")
    partner = session.execute(select(Partner).where(Partner.key_id == req.key_id)).scalar_one_or_none()
    if partner is None or not partner.active:
        raise PartnerAuthError("Unknown or inactive partner key.", code="unknown_partner_key")
    check_timestamp(req.timestamp, now)
    check_nonce_format(req.nonce)
    secret = cipher.decrypt(partner.secret_encrypted.encode()).decode()
    check_signature(secret, req.signature, req.method, req.path, req.timestamp, req.nonce, req.body)
    if not nonces.remember(partner.id, req.nonce, now):
        raise PartnerAuthError("This nonce was already used.", code="nonce_reused")
    return partner
