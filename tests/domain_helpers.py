"""Helpers for domain tests: the default rules and recording an action in one call."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.rules.install import install_default_rule_set

from .factories import FIXED_NOW

RULES_SINCE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count(1)


def install_rules(session, now: datetime = FIXED_NOW):
    rule_set = install_default_rule_set(session, now, RULES_SINCE)
    session.flush()
    return rule_set


def act(session, resident, action_type="metro_ride", quantity="10", unit="km", *, at=None, now=None,
        evidence="partner", source="partner_feed", key=None, attributes=None, **extra):
    """Record one action the way a partner feed would, one hour before ``now``."""
    now = now or FIXED_NOW
    at = at or now - timedelta(hours=1)
    inp = ActionInput(resident_id=resident.id, action_type=action_type, quantity=Decimal(str(quantity)), unit=unit,
                      occurred_at=at, source=source, evidence=evidence, idem_scope=extra.pop("scope", "test"),
                      external_id=key or f"ext-{next(_ids)}", attributes=attributes or {}, **extra)
    return record_action(session, inp, now)
