"""The audit log's date range and pages, as the console's 审计 page reads them."""
from __future__ import annotations

from datetime import timedelta

from carbon_credit.reporting.history import audit_page, audit_verbs
from carbon_credit.staff.audit import audit

from .factories import FIXED_NOW


def _entries(session):
    for day in range(5):
        audit(session, FIXED_NOW - timedelta(days=day), "rule_set.activate" if day % 2 else "create_staff",
              "rule_set", day)
    session.flush()


def test_the_date_range_keeps_entries_from_since_up_to_but_not_including_until(session):
    _entries(session)
    rows, more = audit_page(session, 1, 10, since=FIXED_NOW - timedelta(days=2), until=FIXED_NOW)
    assert [r.target_id for r in rows] == ["1", "2"] and not more


def test_pages_follow_newest_first_and_say_whether_another_follows(session):
    _entries(session)
    first, more = audit_page(session, 1, 2)
    last, after_last = audit_page(session, 3, 2)
    assert [r.target_id for r in first] == ["0", "1"] and more
    assert [r.target_id for r in last] == ["4"] and not after_last
    assert audit_verbs(session) == ["create_staff", "rule_set.activate"]
