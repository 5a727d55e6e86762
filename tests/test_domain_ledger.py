"""The points ledger: lots, oldest-first spending, expiry, adjustments."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from carbon_credit import errors
from carbon_credit.ledger.points import (
    adjust_balance,
    balance_summary,
    expire_due_accounts,
    ledger_is_consistent,
    lock_account,
    refund_points,
    take_points,
)
from carbon_credit.models import AuditLog, LedgerEntry
from carbon_credit.timeutil import TZ, expiry_for

from .domain_helpers import act, install_rules
from .factories import FIXED_NOW, make_resident, make_staff


@pytest.fixture
def resident(session):
    install_rules(session)
    return make_resident(session)


def test_points_expire_at_the_end_of_the_year_after_they_were_earned():
    earned = datetime(2025, 3, 1, 10, tzinfo=TZ)
    assert expiry_for(earned) == datetime(2027, 1, 1, tzinfo=TZ)
    # 2025-12-31 23:30 in Shanghai is still 2025 although UTC says the same day.
    assert expiry_for(datetime(2025, 12, 31, 15, 30, tzinfo=timezone.utc)) == datetime(2027, 1, 1, tzinfo=TZ)


def test_spending_takes_the_oldest_lots_first(session, resident):
    old = act(session, resident, "bus_ride", "1", "trip", now=datetime(2025, 6, 1, 4, tzinfo=timezone.utc)).credit
    new = act(session, resident, "metro_ride", "1", "trip").credit
    account = lock_account(session, resident.id)
    take_points(session, account, FIXED_NOW, kind="spend", points=100, reference="redemption:1")
    lots = {e.expires_at: e for e in session.query(LedgerEntry).filter(LedgerEntry.kind == "earn")}
    assert lots[expiry_for(old.created_at)].remaining == 0
    assert lots[expiry_for(new.created_at)].remaining == 26  # 80 + 46 − 100
    assert account.balance == 26
    assert ledger_is_consistent(session, account.id)


def test_spending_more_than_the_balance_is_refused_and_changes_nothing(session, resident):
    act(session, resident, "bus_ride", "1", "trip")
    account = lock_account(session, resident.id)
    with pytest.raises(errors.InsufficientPoints):
        take_points(session, account, FIXED_NOW, kind="spend", points=81, reference="redemption:2")
    assert account.balance == 80
    assert session.query(LedgerEntry).filter_by(kind="spend").count() == 0


def test_expiry_job_writes_entries_once(session, resident):
    act(session, resident, "bus_ride", "1", "trip", now=datetime(2024, 5, 1, 4, tzinfo=timezone.utc))
    act(session, resident, "metro_ride", "1", "trip")
    new_year_2026 = datetime(2026, 1, 1, tzinfo=TZ) + timedelta(seconds=1)
    assert expire_due_accounts(session, new_year_2026) == (1, 80)
    assert expire_due_accounts(session, new_year_2026) == (0, 0)
    summary = balance_summary(session, resident.id, FIXED_NOW)
    assert summary.points == 46
    assert ledger_is_consistent(session, resident.account.id)


def test_balance_reports_points_expiring_within_30_days(session, resident):
    act(session, resident, "bus_ride", "1", "trip", now=datetime(2025, 3, 1, 4, tzinfo=timezone.utc))
    act(session, resident, "metro_ride", "1", "trip")
    december = datetime(2026, 12, 10, tzinfo=TZ)
    summary = balance_summary(session, resident.id, december)
    assert (summary.points, summary.expiring_soon) == (126, 80)


def test_admin_adjustment_is_audited_and_cannot_go_below_zero(session, resident):
    admin = make_staff(session, "boss", "admin")
    adjust_balance(session, resident.id, 300, "线下活动补录", FIXED_NOW, actor_id=admin.id, reference="adjust:a")
    adjust_balance(session, resident.id, -100, "重复补录冲正", FIXED_NOW, actor_id=admin.id, reference="adjust:b")
    with pytest.raises(errors.InsufficientPoints):
        adjust_balance(session, resident.id, -500, "错误", FIXED_NOW, actor_id=admin.id, reference="adjust:c")
    with pytest.raises(errors.InvalidInput):
        adjust_balance(session, resident.id, 10, " ", FIXED_NOW, actor_id=admin.id, reference="adjust:d")
    assert balance_summary(session, resident.id, FIXED_NOW).points == 200
    verbs = [a.verb for a in session.query(AuditLog).order_by(AuditLog.id)]
    assert verbs == ["balance.adjust", "balance.adjust"]


def test_refund_is_a_fresh_lot(session, resident):
    act(session, resident, "bus_ride", "1", "trip")
    account = lock_account(session, resident.id)
    take_points(session, account, FIXED_NOW, kind="spend", points=80, reference="redemption:9")
    later = FIXED_NOW + timedelta(days=400)
    refund = refund_points(session, resident.id, 80, later, reference="refund:9", reason="取消兑换")
    assert refund.expires_at == expiry_for(later)
    assert ledger_is_consistent(session, account.id)
