"""Installing the shipped action types and the default rule set (version 1)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from carbon_credit.models import ActionType, Rule, RuleSet
from carbon_credit.rules.defaults import ACTION_TYPES, DEFAULT_CAPS, DEFAULT_RULES


def install_action_types(session) -> int:
    """Add the shipped action types that are missing; existing ones are left as admins set them."""
    known = set(session.execute(select(ActionType.code)).scalars())
    added = 0
    for spec in ACTION_TYPES:
        if spec["code"] not in known:
            session.add(ActionType(**spec))
            added += 1
    session.flush()
    return added


def _rule(spec: dict) -> Rule:
    values = dict(spec)
    for name in ("points_per_gram", "points_per_unit", "max_quantity"):
        if values.get(name) is not None:
            values[name] = Decimal(str(values[name]))
    return Rule(**values)


def install_default_rule_set(session, now: datetime, effective_from: datetime) -> RuleSet:
    """Version 1 from METHODOLOGY.md, activated from ``effective_from``; a no-op if any version exists."""
    existing = session.execute(select(RuleSet).order_by(RuleSet.version).limit(1)).scalar_one_or_none()
    if existing is not None:
        return existing
    install_action_types(session)
    rule_set = RuleSet(version=1, status="activated", effective_from=effective_from, note="默认规则 (METHODOLOGY)",
                       caps=[dict(c) for c in DEFAULT_CAPS], created_at=now, activated_at=now,
                       rules=[_rule(spec) for spec in DEFAULT_RULES])
    session.add(rule_set)
    session.flush()
    return rule_set
