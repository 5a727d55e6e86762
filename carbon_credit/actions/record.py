"""Recording green actions and crediting them, one transaction per action.

The order inside the transaction matters: the resident's account row is locked
first, so two submissions of the same resident serialise; the action insert is
guarded by the unique idempotency key; caps are read after the lock, so they
count every credit committed before; the credit, ledger entry and balance are
written together.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Callable, Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carbon_credit.staff.audit import audit
from carbon_credit.errors import (
    Conflict,
    FutureTime,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    QuantityOutOfRange,
    ResidentInactive,
    UnknownActionType,
)
from carbon_credit.ledger.points import add_earn, earns, lock_account
from carbon_credit.models import ActionType, Credit, GreenAction, Resident, credit_days, idem_key_is
from carbon_credit.pipeline import CreditPipeline, credit_pipeline
from carbon_credit.rules import ActionFacts, Usage, evaluate
from carbon_credit.rules.usage import cap_period
from carbon_credit.rules.versions import compiled_in_force
from carbon_credit.timeutil import local_date

CLOCK_SKEW = timedelta(minutes=5)
SOURCES = ("partner_feed", "station_device", "worker", "self_report", "qr_checkin")



@dataclass
class ActionInput:
    resident_id: int
    action_type: str
    quantity: Decimal
    unit: str
    occurred_at: datetime
    source: str
    evidence: str
    idem_scope: str
    external_id: str
    attributes: dict = field(default_factory=dict)
    request_hash: Optional[str] = None
    recorded_by: Optional[int] = None


@dataclass
class RecordResult:
    action: GreenAction
    credit: Optional[Credit]
    created: bool


def request_fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a retry from a reused key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _quantity(value) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(errors={"quantity": ["must be a number"]}) from None
    if not quantity.is_finite() or quantity <= 0:
        raise QuantityOutOfRange("The quantity must be a positive number.", errors={"quantity": ["must be > 0"]})
    return quantity


def check_action(session, inp: ActionInput, now: datetime, *, max_age: Optional[timedelta] = None):
    """Validate an action before anything is written; returns (action type, compiled rule set)."""
    action_type = session.get(ActionType, inp.action_type)
    if action_type is None or not action_type.active:
        raise UnknownActionType(f"Unknown action type {inp.action_type!r}.",
                                errors={"action_type": ["unknown action type"]})
    if inp.unit not in (action_type.units or [action_type.unit]):
        raise InvalidInput(f"{inp.action_type} is measured in {', '.join(action_type.units)}.",
                           code="unit_not_supported", errors={"unit": [f"one of {action_type.units}"]})
    inp.quantity = _quantity(inp.quantity)
    if inp.occurred_at > now + CLOCK_SKEW:
        raise FutureTime(errors={"occurred_at": ["lies in the future"]})
    if max_age is not None and inp.occurred_at < now - max_age:
        raise InvalidInput(f"Actions older than {max_age.days} days cannot be recorded this way.",
                           code="too_old", errors={"occurred_at": [f"older than {max_age.days} days"]})
    compiled = compiled_in_force(session, inp.occurred_at)
    rule = compiled.rules.get(inp.action_type)
    if rule is None:
        raise UnknownActionType("No rule for this action type is in force.", errors={"action_type": ["no rule"]})
    high = rule.max_for(inp.unit)
    if (high is not None and inp.quantity > high) or (rule.min_quantity and inp.quantity < rule.min_quantity):
        raise QuantityOutOfRange(f"{inp.quantity} {inp.unit} is outside the accepted range (max {high}).",
                                 errors={"quantity": [f"must be at most {high} {inp.unit}"]})
    return action_type, compiled


def _insert_action(session, inp: ActionInput, status: str, now: datetime):
    """Insert under a savepoint; a unique-key clash returns the first recording instead."""
    action = GreenAction(
        resident_id=inp.resident_id, action_type=inp.action_type, quantity=inp.quantity, unit=inp.unit,
        occurred_at=inp.occurred_at, source=inp.source, evidence=inp.evidence, idem_scope=inp.idem_scope,
        external_id=inp.external_id, request_hash=inp.request_hash, attributes=inp.attributes, status=status,
        recorded_by=inp.recorded_by, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(action)
    except IntegrityError:
        existing = session.execute(select(GreenAction).where(
            idem_key_is(session.get_bind().dialect.name, inp.idem_scope, inp.external_id))).scalar_one()
        if inp.request_hash and existing.request_hash and existing.request_hash != inp.request_hash:
            raise IdempotencyKeyReused() from None
        return existing, False
    return action, True


def db_usage(session, resident_id: int) -> Callable:
    """Cap usage read from committed credits (called after the account lock), as ``rules.usage`` defines it."""

    def used(cap, day, tag) -> Usage:
        first, after = cap_period(cap, day)
        query = select(func.count(Credit.id), func.coalesce(func.sum(Credit.quantity), 0),
                       func.coalesce(func.sum(Credit.grams), 0), func.coalesce(func.sum(Credit.points), 0)).join(
            GreenAction, GreenAction.id == Credit.id).where(
            GreenAction.resident_id == resident_id, *credit_days(first, after), Credit.status == "credited")
        if cap.action_types is not None:
            query = query.where(Credit.action_type.in_(sorted(cap.action_types)))
        if cap.per:
            query = query.where(Credit.cap_tag == tag)
        count, units, grams, points = session.execute(query).one()
        return Usage(count=count, units=Decimal(units), grams=Decimal(grams), points=Decimal(points))

    return used


def credit_action(session, action: GreenAction, compiled, now: datetime, account=None,
                  pipeline: Optional[CreditPipeline] = None) -> Credit:
    """Apply the credit pipeline to a recorded action and write the credit, its earn (the account's lot) and balance.

    ``account`` is the resident's account when the caller already holds its lock;
    ``pipeline`` defaults to the platform's (``pipeline.credit_pipeline()``).
    """
    pipeline = credit_pipeline() if pipeline is None else pipeline
    account = account or lock_account(session, action.resident_id)
    facts = ActionFacts(resident_id=action.resident_id, action_type=action.action_type,
                        quantity=Decimal(action.quantity), unit=action.unit,
                        local_day=local_date(action.occurred_at), evidence=action.evidence,
                        attributes=action.attributes or {})
    adjustments = [adj for provider in pipeline.adjustments for adj in provider(session, action, facts, now)]
    outcome = evaluate(compiled, facts, db_usage(session, action.resident_id), adjustments)
    for step in pipeline.outcome_steps:
        step(session, action, outcome, now)
    action.set_credit(local_day=facts.local_day, rule_set_id=compiled.id, rule_version=compiled.version,
                      status=outcome.status, cap_tag=outcome.cap_tag, grams=outcome.grams, points=outcome.points,
                      trace=outcome.trace, credited_at=now)
    session.flush()
    if earns(outcome.status, outcome.points, outcome.grams):
        add_earn(session, account, now, points=outcome.points, grams=outcome.grams)
    session.expire(action, ["credit"])
    return action.credit


def record_action(session, inp: ActionInput, now: datetime, *, max_age: Optional[timedelta] = None) -> RecordResult:
    """Record one action idempotently and credit it (or queue it for review)."""
    resident = session.get(Resident, inp.resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    if resident.status != "active":
        raise ResidentInactive()
    action_type, compiled = check_action(session, inp, now, max_age=max_age)
    account = lock_account(session, inp.resident_id)
    pending = action_type.needs_review and inp.evidence != "worker"
    action, created = _insert_action(session, inp, "pending_review" if pending else "credited", now)
    if not created:
        return RecordResult(action=action, credit=action.credit, created=False)
    credit = None if pending else credit_action(session, action, compiled, now, account)
    return RecordResult(action=action, credit=credit, created=True)


def review_action(session, action_id: int, approve: bool, now: datetime, *, reviewer_id: int,
                  note: str = "") -> RecordResult:
    """A worker's or admin's decision on a pending action; approval credits it as verified."""
    action = session.execute(select(GreenAction).where(GreenAction.id == action_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if action is None:
        raise NotFound("No such action.", code="action_not_found")
    if action.status != "pending_review":
        raise Conflict(f"This action was already reviewed ({action.status}).", code="already_reviewed")
    if not approve and not note.strip():
        raise InvalidInput("A rejection needs a reason.", errors={"note": ["required when rejecting"]})
    action.reviewed_by, action.reviewed_at, action.review_note = reviewer_id, now, note
    credit = None
    if approve:
        action.evidence = "worker"
        credit = credit_action(session, action, compiled_in_force(session, action.occurred_at), now)
    else:
        action.status = "rejected"
        session.flush()
    audit(session, now, "action.approve" if approve else "action.reject", "green_action", action.id,
          actor_id=reviewer_id, note=note, points=credit.points if credit else 0)
    return RecordResult(action=action, credit=credit, created=False)
