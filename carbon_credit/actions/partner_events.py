"""Batches of events pushed by partners, each recorded on its own and answered on its own.

Every event runs inside its own savepoint: a bad event is rolled back and
reported, the others are kept. The idempotency key is (``partner:<id>``,
event_id): a resent event is answered ``duplicate`` with the points of its
first recording and credits nothing again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from carbon_credit.actions.intake import IdentityKeys, protected_ref, queue_credit_notice, resolve_resident
from carbon_credit.actions.record import ActionInput, record_action, request_fingerprint
from carbon_credit.actions.weighins import WEIGH_IN_ACTION_TYPES, weigh_in
from carbon_credit.errors import DomainError, IdempotencyKeyReused, InvalidInput
from carbon_credit.models import ActionType, GreenAction, idem_key_is
from carbon_credit.models.partners import Partner
from carbon_credit.models.stations import Station
from carbon_credit.org.stations import claim_visit
from carbon_credit.timeutil import ensure_aware

MAX_BATCH = 500
MAX_ATTRIBUTES_BYTES = 2048
# Partners may deliver late (a device offline for a while), not arbitrarily late.
MAX_AGE = timedelta(days=30)
REQUIRED = ("event_id", "action_type", "quantity", "occurred_at")
# Devices at stations must say which station weighed.
STATION_PARTNER_KINDS = ("smart_bin", "recycling_kiosk")
RESULT_STATUSES = ("credited", "capped", "duplicate", "pending_review", "rejected", "unknown_resident")


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 413
    message = f"A batch holds at most {MAX_BATCH} events."


@dataclass
class Prepared:
    action_type: str
    quantity: object
    unit: str
    occurred_at: datetime
    station: Optional[Station]
    attributes: dict


def _result(event_id, status: str, points: int = 0, grams: int = 0, error: Optional[DomainError] = None) -> dict:
    result = {"event_id": event_id, "status": status, "points": points, "grams": grams}
    if error is not None:
        result["error"] = {"code": error.code, "message": error.message}
    return result


def _event_id(raw) -> Optional[str]:
    if not isinstance(raw, dict):
        return None
    value = raw.get("event_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def _occurred_at(value) -> datetime:
    try:
        return ensure_aware(datetime.fromisoformat(str(value)))
    except ValueError:
        raise InvalidInput("occurred_at is an ISO 8601 time.", code="invalid_time",
                           errors={"occurred_at": ["ISO 8601, e.g. 2026-06-05T10:00:00+08:00"]}) from None


def _station(session, partner: Partner, raw: dict) -> Optional[Station]:
    station_id = raw.get("station_id")
    if station_id is None:
        if partner.kind in STATION_PARTNER_KINDS:
            raise InvalidInput("Events from station devices name their station.", code="station_required",
                               errors={"station_id": ["required"]})
        return None
    station = session.get(Station, station_id) if isinstance(station_id, int) else None
    if station is None or station.partner_id != partner.id:
        raise InvalidInput("This station is not one of yours.", code="station_not_allowed",
                           errors={"station_id": ["not a station this partner serves"]})
    if not station.active:
        raise InvalidInput("This station is not active.", code="station_inactive")
    return station


def _attributes(raw: dict) -> dict:
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidInput(errors={"attributes": ["an object"]})
    if len(json.dumps(attributes, default=str)) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput("attributes are limited to 2 KB.", code="attributes_too_large")
    return dict(attributes)


def _prepare(session, partner: Partner, raw: dict) -> Prepared:
    """Validate what can be validated without the resident; DomainError when the event is bad."""
    missing = [name for name in REQUIRED if raw.get(name) in (None, "")]
    if missing:
        raise InvalidInput(f"Missing: {', '.join(missing)}.", code="missing_field",
                           errors={name: ["required"] for name in missing})
    code = raw["action_type"]
    if not isinstance(code, str) or session.get(ActionType, code) is None:
        raise InvalidInput(f"Unknown action type {code!r}.", code="unknown_action_type")
    if code not in (partner.action_types or []):
        raise InvalidInput(f"This partner may not send {code}.", code="action_type_not_allowed")
    station = _station(session, partner, raw)
    attributes = _attributes(raw)
    if station is not None:
        attributes["station_id"] = station.id
    category = raw.get("category")
    if category is not None or code in WEIGH_IN_ACTION_TYPES:
        if category is None:
            raise InvalidInput("A weigh-in names its category.", code="missing_field", errors={"category": ["required"]})
        if raw.get("unit") not in (None, "kg"):
            raise InvalidInput("A weigh-in's quantity is its weight in kg.", code="unit_not_supported")
        item = weigh_in(category, raw["quantity"])
        if item.action_type != code:
            raise InvalidInput(f"Category {category} is recorded as {item.action_type}, not {code}.",
                               code="category_mismatch")
        attributes.update(item.attributes, category=category)
        return Prepared(code, item.quantity, item.unit, _occurred_at(raw["occurred_at"]), station, attributes)
    unit = raw.get("unit") or session.get(ActionType, code).unit
    return Prepared(code, raw["quantity"], unit, _occurred_at(raw["occurred_at"]), station, attributes)


def _first_result(session, partner: Partner, event_id: str, fingerprint: str) -> Optional[dict]:
    """The answer for an event already recorded: duplicate, with the points it earned then."""
    action = session.execute(select(GreenAction).where(
        idem_key_is(session.get_bind().dialect.name, f"partner:{partner.id}", event_id))).scalar_one_or_none()
    if action is None:
        return None
    if action.request_hash and action.request_hash != fingerprint:
        raise IdempotencyKeyReused("This event_id was already used for a different event.")
    credit = action.credit
    return _result(event_id, "duplicate", credit.points if credit else 0, credit.grams if credit else 0)


def _record(session, partner: Partner, event_id: str, raw: dict, now: datetime, keys: IdentityKeys) -> dict:
    fingerprint = request_fingerprint({**raw, "resident": protected_ref(raw.get("resident"), keys)})
    first = _first_result(session, partner, event_id, fingerprint)
    if first is not None:
        return first
    item = _prepare(session, partner, raw)
    visit = None
    if raw.get("resident") is not None:
        resident_id = resolve_resident(session, raw["resident"], keys)
    elif item.station is not None:
        visit = claim_visit(session, item.station.id, item.occurred_at, now)
        resident_id = visit.resident_id if visit is not None else None
    else:
        raise InvalidInput("Missing: resident.", code="missing_field", errors={"resident": ["required"]})
    if resident_id is None:
        return _result(event_id, "unknown_resident",
                       error=DomainError("No resident matches this event.", code="unknown_resident"))
    if visit is not None:
        item.attributes["visit_id"] = visit.id
    recorded = record_action(session, ActionInput(
        resident_id=resident_id, action_type=item.action_type, quantity=item.quantity, unit=item.unit,
        occurred_at=item.occurred_at, source="station_device" if item.station else "partner_feed",
        evidence="partner", idem_scope=f"partner:{partner.id}", external_id=event_id,
        request_hash=fingerprint, attributes=item.attributes), now, max_age=MAX_AGE)
    if not recorded.created:
        return _first_result(session, partner, event_id, fingerprint)
    if visit is not None:
        visit.action_id = recorded.action.id
    queue_credit_notice(session, recorded.action, recorded.credit, now)
    credit = recorded.credit
    return _result(event_id, recorded.action.status, credit.points if credit else 0, credit.grams if credit else 0)


def _one(session, partner: Partner, raw, now: datetime, keys: IdentityKeys) -> dict:
    event_id = _event_id(raw)
    if event_id is None:
        error = InvalidInput("Each event is an object with an event_id of 1 to 128 characters.",
                             code="missing_field")
        return _result(raw.get("event_id") if isinstance(raw, dict) else None, "rejected", error=error)
    try:
        with session.begin_nested():
            return _record(session, partner, event_id, raw, now, keys)
    except DomainError as error:
        return _result(event_id, "rejected", error=error)


def ingest_partner_events(session, partner: Partner, events: list, now: datetime, *, keys: IdentityKeys) -> list:
    """One result per event, in the order sent. Flushes; the caller commits the batch."""
    if len(events) > MAX_BATCH:
        raise BatchTooLarge()
    return [_one(session, partner, raw, now, keys) for raw in events]
