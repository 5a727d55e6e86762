"""Admins add action types and change how they are offered; every change is audited.

How a type earns carbon and points is not here: that lives in the rule sets, so a
new type earns nothing until a rule-set version with a rule for it is activated.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, InvalidInput, NotFound
from carbon_credit.models import ActionType
from carbon_credit.staff.audit import audit

EDITABLE = ("name", "active", "needs_review", "self_report", "description")


def list_action_types(session) -> list[ActionType]:
    return list(session.execute(select(ActionType).order_by(ActionType.category, ActionType.code)).scalars())


def get_action_type(session, code: str) -> ActionType:
    action_type = session.get(ActionType, code)
    if action_type is None:
        raise NotFound(f"Unknown action type {code!r}.", code="action_type_not_found")
    return action_type


def create_action_type(session, values: dict, now: datetime, *, actor_id=None) -> ActionType:
    """Add a type; ``units`` defaults to the one default unit and must contain it."""
    units = list(dict.fromkeys(values.get("units") or [values["unit"]]))
    if values["unit"] not in units:
        raise InvalidInput("The default unit must be one of the accepted units.",
                           errors={"units": [f"must contain {values['unit']!r}"]})
    action_type = ActionType(**{**values, "units": units})
    try:
        with session.begin_nested():
            session.add(action_type)
    except IntegrityError:
        raise Conflict(f"Action type {values['code']!r} exists already.", code="action_type_exists") from None
    audit(session, now, "action_type.create", "action_type", action_type.code, actor_id=actor_id,
          values={k: v for k, v in values.items() if k != "code"} | {"units": units})
    session.flush()
    return action_type


def update_action_type(session, code: str, changes: dict, now: datetime, *, actor_id=None) -> ActionType:
    """Change the editable fields; the audit log keeps what they were before."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(errors={name: ["cannot be changed"] for name in sorted(unknown)})
    action_type = get_action_type(session, code)
    before = {name: getattr(action_type, name) for name in changes}
    for name, value in changes.items():
        setattr(action_type, name, value)
    audit(session, now, "action_type.update", "action_type", code, actor_id=actor_id, before=before,
          after=dict(changes))
    session.flush()
    return action_type
