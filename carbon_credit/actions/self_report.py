"""A resident declaring a green action themself, idempotent by the client's key.

The client sends an idempotency key with each declaration. The same key with
the same body is a retry and gets the first result back; the same key with a
different body is refused. Declarations are weighted as self-declared evidence
by the rules and may be at most a week old.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Optional

from sqlalchemy import select

from carbon_credit.actions.record import ActionInput, RecordResult, record_action, request_fingerprint
from carbon_credit.errors import IdempotencyKeyReused, InvalidInput, UnknownActionType
from carbon_credit.models import ActionType, GreenAction, idem_key_is

MAX_AGE = timedelta(days=7)
# Purchases need an invoice and a category: they have their own endpoint and review.
DEDICATED_ENDPOINTS = {"appliance_purchase": "use_appliance_endpoint"}


@dataclass
class Declaration:
    action_type: str
    quantity: Decimal
    occurred_at: datetime
    unit: Optional[str] = None
    note: Optional[str] = None


def resident_scope(resident_id: int) -> str:
    return f"resident:{resident_id}"


def fingerprint(declaration: Declaration, unit: str) -> str:
    """The request hash: the same declaration written differently (5 vs "5.0", +08:00 vs Z) matches."""
    return request_fingerprint({
        "action_type": declaration.action_type,
        "quantity": str(Decimal(declaration.quantity).normalize()),
        "unit": unit,
        "occurred_at": declaration.occurred_at.astimezone(timezone.utc).isoformat(),
        "note": declaration.note or "",
    })


def _earlier(session, resident_id: int, key: str) -> Optional[GreenAction]:
    return session.execute(select(GreenAction).where(
        idem_key_is(session.get_bind().dialect.name, resident_scope(resident_id), key))).scalar_one_or_none()


def _declarable_type(session, code: str) -> ActionType:
    if code in DEDICATED_ENDPOINTS:
        raise InvalidInput(f"{code} is recorded through its own endpoint.", code=DEDICATED_ENDPOINTS[code],
                           errors={"action_type": ["has a dedicated endpoint"]})
    action_type = session.get(ActionType, code)
    if action_type is None or not action_type.active:
        raise UnknownActionType(f"Unknown action type {code!r}.", errors={"action_type": ["unknown action type"]})
    if not action_type.self_report:
        raise InvalidInput(f"{code} cannot be declared by residents; it arrives from partners or workers.",
                           code="not_self_reportable", errors={"action_type": ["not self-reportable"]})
    return action_type


def declare_action(session, resident_id: int, key: str, declaration: Declaration, now: datetime) -> RecordResult:
    """Record and credit a self-declared action; ``created`` is False for a retry.

    The key is looked up first so a retry gets its answer even after the
    declaration's week has passed; the unique (scope, key) constraint still
    decides between two concurrent first attempts.
    """
    unit_hint = declaration.unit
    earlier = _earlier(session, resident_id, key)
    if earlier is not None:
        default = session.get(ActionType, declaration.action_type)
        expected = fingerprint(declaration, unit_hint or (default.unit if default else ""))
        if earlier.request_hash != expected:
            raise IdempotencyKeyReused()
        return RecordResult(action=earlier, credit=earlier.credit, created=False)
    action_type = _declarable_type(session, declaration.action_type)
    unit = unit_hint or action_type.unit
    attributes = {"note": declaration.note} if declaration.note else {}
    inp = ActionInput(resident_id=resident_id, action_type=action_type.code, quantity=declaration.quantity,
                      unit=unit, occurred_at=declaration.occurred_at, source="self_report", evidence="self",
                      idem_scope=resident_scope(resident_id), external_id=key,
                      request_hash=fingerprint(declaration, unit), attributes=attributes)
    return record_action(session, inp, now, max_age=MAX_AGE)


def declarable_types(session) -> list:
    """Action types a resident may declare on their own (appliances have their own form)."""
    return [t for t in session.execute(select(ActionType).where(ActionType.self_report.is_(True),
                                                                ActionType.active.is_(True))
                                       .order_by(ActionType.category, ActionType.code)).scalars()
            if t.code not in DEDICATED_ENDPOINTS]
