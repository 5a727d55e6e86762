"""Redeeming rewards, vouchers and cancellation, in the domain (no Flask)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from carbon_credit.errors import IdempotencyKeyReused, InsufficientPoints, NotFound
from carbon_credit.ledger.points import ledger_is_consistent, lock_account
from carbon_credit.models import LedgerEntry, Notification, Redemption
from carbon_credit.rewards.redemptions import (
    OutOfStock,
    RedemptionLimitReached,
    RewardNotAvailable,
    cancel_redemption,
    normalise_voucher_code,
    redeem_reward,
    use_voucher,
)

from .factories import FIXED_NOW, make_community, make_resident, make_staff
from .reward_support import balance, count, give_points, make_reward, stock_of

EARLY = datetime(2025, 3, 1, 4, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 1, 10, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def community(session):
    return make_community(session)


@pytest.fixture
def resident(session, community):
    return make_resident(session, community=community)


def test_redemption_spends_oldest_lot_first_and_issues_a_voucher(session, resident):
    old_lot = give_points(session, resident, 100, at=EARLY)
    new_lot = give_points(session, resident, 100, at=LATER)
    reward = make_reward(session, points_cost=150, stock=3)

    redemption, created = redeem_reward(session, resident.id, reward.id, FIXED_NOW, idempotency_key="k1")
    session.commit()

    assert created and redemption.status == "issued" and redemption.points == 150
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", redemption.voucher_code)
    session.refresh(old_lot)
    session.refresh(new_lot)
    assert (old_lot.remaining, new_lot.remaining) == (0, 50)
    spend = session.execute(select(LedgerEntry).where(LedgerEntry.reference == f"redemption:{redemption.id}")).scalar_one()
    assert (spend.kind, spend.points) == ("spend", -150)
    assert balance(session, resident) == 50
    assert stock_of(session, reward.id) == 2
    note = session.execute(select(Notification).where(Notification.kind == "redemption")).scalar_one()
    assert note.payload == {"reward": "公交乘车券", "voucher_code": redemption.voucher_code, "points": 150}
    assert ledger_is_consistent(session, lock_account(session, resident.id).id)


def test_retry_with_the_same_idempotency_key_redeems_once(session, resident):
    give_points(session, resident, 500)
    reward = make_reward(session, points_cost=100)
    first, created = redeem_reward(session, resident.id, reward.id, FIXED_NOW, idempotency_key="same")
    session.commit()
    again, created_again = redeem_reward(session, resident.id, reward.id, FIXED_NOW, idempotency_key="same")
    session.commit()
    assert created and not created_again and again.id == first.id
    assert balance(session, resident) == 400 and stock_of(session, reward.id) == 9
    other = make_reward(session, title="另一个")
    with pytest.raises(IdempotencyKeyReused):
        redeem_reward(session, resident.id, other.id, FIXED_NOW, idempotency_key="same")


@pytest.mark.parametrize("points, stock, error", [(99, 5, InsufficientPoints), (1000, 0, OutOfStock)])
def test_refused_redemption_writes_nothing(session, resident, points, stock, error):
    give_points(session, resident, points)
    reward = make_reward(session, points_cost=100, stock=stock)
    session.commit()
    with pytest.raises(error) as caught:
        redeem_reward(session, resident.id, reward.id, FIXED_NOW, idempotency_key="k")
    session.commit()  # even a caller that commits after the refusal keeps nothing of it
    assert caught.value.status == 409
    assert count(session, Redemption) == 0
    assert count(session, LedgerEntry, LedgerEntry.kind == "spend") == 0
    assert count(session, Notification) == 0
    assert balance(session, resident) == points and stock_of(session, reward.id) == stock


def test_reward_of_another_community_or_outside_its_window_cannot_be_redeemed(session, resident):
    give_points(session, resident, 1000)
    elsewhere = make_reward(session, communities=[make_community(session)])
    with pytest.raises(NotFound):
        redeem_reward(session, resident.id, elsewhere.id, FIXED_NOW)
    later = make_reward(session, visible_from=FIXED_NOW + timedelta(days=1), visible_until=FIXED_NOW + timedelta(days=9))
    with pytest.raises(RewardNotAvailable):
        redeem_reward(session, resident.id, later.id, FIXED_NOW)
    ours = make_reward(session, communities=[resident.community])
    redemption, _ = redeem_reward(session, resident.id, ours.id, FIXED_NOW)
    assert redemption.reward_id == ours.id


def test_per_resident_limit_counts_redemptions_not_cancelled(session, resident):
    give_points(session, resident, 1000)
    reward = make_reward(session, per_resident_limit=2)
    first, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    with pytest.raises(RedemptionLimitReached):
        redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    cancel_redemption(session, first.id, FIXED_NOW, resident_id=resident.id)
    third, created = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    assert created and third.status == "issued"


def test_worker_marks_a_voucher_used_once(session, resident, community):
    worker = make_staff(session, "w1", "worker", communities=[community])
    stranger = make_staff(session, "w2", "worker", communities=[make_community(session)])
    give_points(session, resident, 300)
    reward = make_reward(session, communities=[community])
    redemption, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    code = redemption.voucher_code
    with pytest.raises(NotFound):
        use_voucher(session, code, FIXED_NOW, actor_id=stranger.id, scope=stranger.community_ids)
    used = use_voucher(session, normalise_voucher_code(code.lower().replace("-", " ")), FIXED_NOW,
                       actor_id=worker.id, scope=worker.community_ids)
    assert (used.status, used.used_by) == ("used", worker.id)
    with pytest.raises(Exception) as again:
        use_voucher(session, code, FIXED_NOW, actor_id=worker.id, scope=worker.community_ids)
    assert (again.value.status, again.value.code) == (409, "voucher_already_used")
    with pytest.raises(Exception) as late_cancel:
        cancel_redemption(session, redemption.id, FIXED_NOW, resident_id=resident.id)
    assert late_cancel.value.code == "voucher_already_used"


def test_cancel_refunds_to_a_fresh_lot_and_returns_stock_once(session, resident):
    give_points(session, resident, 100, at=EARLY)
    reward = make_reward(session, points_cost=100, stock=1)
    redemption, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    session.commit()
    assert balance(session, resident) == 0 and stock_of(session, reward.id) == 0

    later = FIXED_NOW + timedelta(hours=2)
    cancelled = cancel_redemption(session, redemption.id, later, resident_id=resident.id)
    session.commit()
    assert cancelled.status == "cancelled" and cancelled.cancelled_by is None
    refund = session.execute(select(LedgerEntry).where(LedgerEntry.reference == f"redemption-refund:{redemption.id}")).scalar_one()
    # A fresh lot: it expires from the refund's date, not the original lot's (2026-12-31 end).
    assert (refund.kind, refund.points, refund.remaining) == ("refund", 100, 100)
    assert refund.expires_at == datetime(2027, 12, 31, 16, 0, tzinfo=timezone.utc)
    assert balance(session, resident) == 100 and stock_of(session, reward.id) == 1
    with pytest.raises(Exception) as twice:
        cancel_redemption(session, redemption.id, later, resident_id=resident.id)
    assert (twice.value.status, twice.value.code) == (409, "redemption_cancelled")
    assert balance(session, resident) == 100 and stock_of(session, reward.id) == 1
    assert ledger_is_consistent(session, lock_account(session, resident.id).id)


def test_a_resident_cannot_cancel_someone_elses_redemption(session, resident):
    give_points(session, resident, 100)
    reward = make_reward(session)
    redemption, _ = redeem_reward(session, resident.id, reward.id, FIXED_NOW)
    other = make_resident(session)
    with pytest.raises(NotFound):
        cancel_redemption(session, redemption.id, FIXED_NOW, resident_id=other.id)
