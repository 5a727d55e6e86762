"""Helpers for the API tests: the default rules, a resident in a community, and row counts."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.models import Account, ActionType, AuditLog, Credit, GreenAction, LedgerEntry, Rule, RuleSet
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.timeutil import utcnow

from .factories import FIXED_NOW, auth_header, make_community, make_resident

RULES_SINCE = datetime(2024, 1, 1, tzinfo=timezone.utc)
COUNTED = (GreenAction, Credit, LedgerEntry, AuditLog, RuleSet, Rule, ActionType)
_keys = itertools.count(1)


def install_rules(session):
    rule_set = install_default_rule_set(session, FIXED_NOW, RULES_SINCE)
    session.flush()
    return rule_set


def resident_in(session, community=None, name="小林", openid=None):
    return make_resident(session, openid, community or make_community(session), display_name=name)


def feed(session, resident, action_type="metro_ride", quantity="10", unit="km", *, at=None, now=None,
         evidence="partner", source="partner_feed", attributes=None):
    """Record an action as a partner feed would (not through the API), an hour before ``now``."""
    now = now or utcnow()
    inp = ActionInput(resident_id=resident.id, action_type=action_type, quantity=Decimal(str(quantity)), unit=unit,
                      occurred_at=at or now - timedelta(hours=1), source=source, evidence=evidence,
                      idem_scope="test-feed", external_id=f"feed-{next(_keys)}", attributes=attributes or {})
    return record_action(session, inp, now)


def snapshot(session) -> dict:
    """Row counts of everything a request could write, and the sum of balances."""
    session.commit()  # end any read transaction so the counts see the app's commits
    counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in COUNTED}
    counts["balances"] = session.scalar(select(func.coalesce(func.sum(Account.balance), 0)))
    session.commit()
    return counts


def balance_of(session, resident) -> int:
    session.commit()
    return session.scalar(select(Account.balance).where(Account.resident_id == resident.id))


def assert_error(response, status: int, code: str, fields=()):
    """The one error envelope, with field errors for the named fields."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "errors"}
    for field in fields:
        assert field in body.get("errors", {}), body
    return body


def bearer(token: str) -> dict:
    return auth_header(token)


def iso(moment: datetime) -> str:
    return moment.isoformat()
